"""A seeded customer in the sandbox: registry, metrics and audit log as a real customer's would look, for the
readiness check (`--preflight-only --for`) to be tried and tested against.

    zorora-e2e sandbox --seed-customer acme --seed-customer beta:stale
    Sandbox(...).seed_customer("acme:few-windows")

Variants (`NAME[:VARIANT]`): eligible (default: every gate passes: MAE +8.4 %, RMSE +6.1 %, 14 windows,
evaluated 2 days ago), stale (evaluated 9 days ago), regressing (a seasonal regression), few-windows (8
backtest windows). Every customer also has a challenger still training, and an audit log with two
promotions and a rollback. Written through the sandbox's internal S3 endpoint (not in the request log).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

VARIANTS = ("eligible", "stale", "regressing", "few-windows")
_NAME_RE = re.compile(r"^[A-Za-z0-9._\-]+$")
PRODUCTION_BACKTEST = {"mae": 45.0, "rmse": 62.7, "bias": -1.5, "windows": 14}
CHALLENGER_BACKTEST = {"mae": 41.2, "rmse": 58.9, "bias": -1.3, "windows": 14}
SEASONAL_REGRESSION = {"season": "winter", "mae_pct": -3.2}


@dataclass(frozen=True)
class SeededCustomer:
    customer_id: str
    variant: str
    production_id: str
    challenger_id: str  # the evaluated one the variant is about
    training_id: str  # another challenger, still training

    def describe(self) -> str:
        return (
            f"seeded customer {self.customer_id} ({self.variant}): challenger {self.challenger_id}, "
            f"production {self.production_id}"
        )


def parse_seed(spec: str):
    """`NAME[:VARIANT]` -> (name, variant); ValueError with what to type."""
    name, _, variant = str(spec).partition(":")
    variant = variant or "eligible"
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"--seed-customer {spec!r}: the name must be a customer id (letters, digits, '.', '_', '-')")
    if variant not in VARIANTS:
        raise ValueError(f"--seed-customer {spec!r}: unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    return name, variant


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d_%H%M%S")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_customer(s3: Any, bucket: str, spec: str, now: datetime | None = None) -> SeededCustomer:
    """Write the customer `spec` names (replacing what it had) through `s3`, a boto3 S3 client."""
    name, variant = parse_seed(spec)
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    promoted = now - timedelta(days=30)
    evaluated = now - timedelta(days=9 if variant == "stale" else 2)
    trained = evaluated - timedelta(minutes=30)
    production_id = f"{name}/production/model_{_ts(promoted)}"
    challenger_id = f"{name}/challenger_{_ts(trained)}"
    training_id = f"{name}/challenger_{_ts(now - timedelta(hours=1))}"
    production_metrics = f"model_metrics/{name}/production/model_{_ts(promoted)}/backtest_results.json"
    models = f"s3://{bucket}/customer_tailored/{name}/models"
    challenger = {
        "model_id": challenger_id,
        "trained_at": _iso(trained),
        "status": "evaluated",
        "evaluated_at": _iso(evaluated),
        "evaluation_summary": {
            "verdict": "eligible",
            "mae_improvement_pct": 8.4,
            "rmse_improvement_pct": 6.1,
            "seasonal_regressions": [SEASONAL_REGRESSION] if variant == "regressing" else [],
        },
        "model_path": f"{models}/challenger_model.h5",
        "feature_schema_version": "v2",
        "supports_quantiles": False,
    }
    training = {
        "model_id": training_id,
        "trained_at": _iso(now - timedelta(hours=1)),
        "status": "training",
        "model_path": f"{models}/challenger_training.h5",
        "feature_schema_version": "v2",
    }
    registry = {
        "customer_id": name,
        "production": {
            "model_id": production_id,
            "promoted_at": _iso(promoted),
            "promoted_by": "alice",
            "model_path": f"{models}/production_model.h5",
            "metrics_ref": f"s3://{bucket}/{production_metrics}",
            "feature_schema_version": "v2",
            "supports_quantiles": False,
            "health_status": "healthy",
            "health_check_timestamp": _iso(now - timedelta(hours=6)),
        },
        "challengers": [challenger, training],
    }
    older = f"{name}/production/model_{_ts(now - timedelta(days=60))}"
    events = [
        _event(now - timedelta(days=45), "alice", "promote", older, "Quarterly retrain"),
        _event(now - timedelta(days=40), "bob", "rollback", older, "Rollback: drift in the evening peak"),
        _event(promoted, "alice", "promote", production_id, "Retrained on the new tariff data"),
    ]
    challenger_backtest = dict(CHALLENGER_BACKTEST, windows=8 if variant == "few-windows" else 14)
    documents: dict[str, Any] = {
        f"customer_tailored/{name}/latest_model.json": registry,
        production_metrics: {"backtest": dict(PRODUCTION_BACKTEST)},
        f"model_metrics/{name}/{challenger_id}/backtest_results.json": {"backtest": challenger_backtest},
        f"audit_logs/{name}/events.json": {"customer_id": name, "events": events},
    }
    for key, document in documents.items():
        s3.put_object(
            Bucket=bucket, Key=key, Body=json.dumps(document, indent=2).encode(), ContentType="application/json"
        )
    return SeededCustomer(name, variant, production_id, challenger_id, training_id)


def _event(moment: datetime, actor: str, action: str, model_id: str, reason: str) -> dict[str, Any]:
    return {
        "timestamp": _iso(moment),
        "actor": actor,
        "action": action,
        "model_id": model_id,
        "reason": reason,
        "request_id": f"seed-{action}-{_ts(moment)}",
        "force": False,
        "source": "sandbox-seed",
    }


__all__ = ["SeededCustomer", "VARIANTS", "parse_seed", "seed_customer"]
