"""What a run seeds into S3 (the plan's Phase 1) and checks the API against: the test customer's ids, UTC
times, S3 keys and documents (`SeedData`), and the plan's fixed values (metrics, reasons, unknown ids).

Pure data: nothing here talks to S3 or HTTP. Times are UTC (the code of the plan's step 1.1 uses local
time; its "Ambiguity Resolution" section says UTC: docs/platform.md, ids and timestamps).
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime, timedelta, timezone

from ..s3.customer_state import customer_prefixes

PRODUCTION_METRICS = {"backtest": {"mae": 45.0, "rmse": 62.7, "bias": -1.5, "windows": 12}}
CHALLENGER_METRICS = {"backtest": {"mae": 41.2, "rmse": 58.9, "bias": -1.3, "windows": 12}}
PROMOTE_REASON = "End-to-end validation test promotion"
ROLLBACK_REASON = "End-to-end validation test rollback"
ERROR_REASON = "Test error handling"
SHORT_REASON = "short"
UNKNOWN_MODEL = "nonexistent_model"
PROBE_REASON = "e2e"  # 3 characters: every server must refuse it (the preflight's harmless promote/rollback)
PROBE_MODEL = "preflight_probe"
GATE_REASON = "End-to-end validation: a challenger that fails its gates"
GATE_UNDO_REASON = "End-to-end validation: undo a promotion that skipped the gates"
STALE_DAYS = 10  # the gate challenger was evaluated this long ago (the freshness gate is 7 days)


def improvement_pct(production: float, challenger: float) -> float:
    """(production - challenger) / production * 100, unrounded (the plan's 8.44 and 6.06)."""
    return (production - challenger) / production * 100


EXPECTED_IMPROVEMENT = {
    "mae_pct": improvement_pct(PRODUCTION_METRICS["backtest"]["mae"], CHALLENGER_METRICS["backtest"]["mae"]),
    "rmse_pct": improvement_pct(PRODUCTION_METRICS["backtest"]["rmse"], CHALLENGER_METRICS["backtest"]["rmse"]),
}


def stamp(moment: datetime) -> str:
    """`YYYYMMDD_HHMMSS`, the plan's id timestamp."""
    return moment.strftime("%Y%m%d_%H%M%S")


def iso(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, the plan's ISO format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class SeedData:
    customer_id: str
    bucket: str
    now: datetime
    run_token: str = dataclasses.field(default_factory=lambda: secrets.token_hex(8), compare=False)  # tells this
    # run's claim from another's

    @classmethod
    def create(cls, customer_id: str, bucket: str, now: datetime | None = None) -> SeedData:
        now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
        return cls(customer_id, bucket, now)

    # -- times (step 1.1) -------------------------------------------------
    @property
    def production_time(self) -> datetime:
        return self.now - timedelta(days=7)

    @property
    def challenger_trained_time(self) -> datetime:
        return self.now - timedelta(days=1)

    @property
    def challenger_evaluated_time(self) -> datetime:
        return self.challenger_trained_time + timedelta(minutes=30)

    # -- ids ----------------------------------------------------------------
    @property
    def production_model_id(self) -> str:
        return f"{self.customer_id}/production/model_{stamp(self.production_time)}"

    @property
    def challenger_model_id(self) -> str:
        return f"{self.customer_id}/challenger_{stamp(self.challenger_trained_time)}"

    # -- keys ---------------------------------------------------------------
    @property
    def registry_key(self) -> str:
        return f"customer_tailored/{self.customer_id}/latest_model.json"

    @property
    def archive_prefix(self) -> str:
        return f"customer_tailored/{self.customer_id}/archived/"

    @property
    def audit_key(self) -> str:
        return f"audit_logs/{self.customer_id}/events.json"

    @property
    def production_metrics_key(self) -> str:
        return f"model_metrics/{self.production_model_id}/backtest_results.json"

    @property
    def challenger_metrics_key(self) -> str:
        # model_metrics/{C}/{model_id}/...: the challenger id starts with the customer id, so C appears twice.
        return f"model_metrics/{self.customer_id}/{self.challenger_model_id}/backtest_results.json"

    # -- phase 4's challenger that fails its gates (stale evaluation, verdict not_eligible) --------------
    @property
    def gate_challenger_time(self) -> datetime:
        return self.now - timedelta(days=STALE_DAYS)

    @property
    def gate_challenger_model_id(self) -> str:
        return f"{self.customer_id}/challenger_{stamp(self.gate_challenger_time)}"

    @property
    def gate_challenger_metrics_key(self) -> str:
        return f"model_metrics/{self.customer_id}/{self.gate_challenger_model_id}/backtest_results.json"

    def gate_challenger_entry(self) -> dict:
        """Fails the gates every source agrees on: evaluated more than 7 days ago, verdict not_eligible.
        Its metrics (the plan's challenger numbers) pass every other gate."""
        entry = self.challenger_entry()
        entry.update(
            {
                "model_id": self.gate_challenger_model_id,
                "trained_at": iso(self.gate_challenger_time),
                "evaluated_at": iso(self.gate_challenger_time + timedelta(minutes=30)),
                "evaluation_summary": dict(entry["evaluation_summary"], verdict="not_eligible"),
            }
        )
        return entry

    @property
    def probe_key(self) -> str:
        """0.4's probe object, which is also the run's claim on its customer id: written only where no object is
        (`If-None-Match: *`), so a second run on the same id cannot write it. One fixed key per customer id."""
        return f"customer_tailored/{self.customer_id}/zorora-e2e-claim.txt"

    def claim_body(self) -> bytes:
        """What the claim holds: whose it is (this run's token tells it from another run's) and what removes it."""
        return (
            f"zorora-e2e run {self.run_token} claimed test customer {self.customer_id} at {iso(self.now)}; its "
            "cleanup deletes this object (a run killed before then leaves it: zorora-e2e sweep removes it)\n"
        ).encode()

    @property
    def prefixes(self) -> tuple[str, ...]:
        return customer_prefixes(self.customer_id)

    # -- documents ------------------------------------------------------------
    def production_entry(self) -> dict:
        c, b = self.customer_id, self.bucket
        return {
            "model_id": self.production_model_id,
            "promoted_at": iso(self.production_time),
            "promoted_by": "test-setup",
            "model_path": f"s3://{b}/customer_tailored/{c}/models/production_model.h5",
            "metrics_ref": f"s3://{b}/{self.production_metrics_key}",
            "feature_schema_version": "v2",
            "supports_quantiles": False,
            "health_status": "healthy",
            "health_check_timestamp": iso(self.production_time),
        }

    def challenger_entry(self) -> dict:
        c, b = self.customer_id, self.bucket
        return {
            "model_id": self.challenger_model_id,
            "trained_at": iso(self.challenger_trained_time),
            "status": "evaluated",
            "evaluated_at": iso(self.challenger_evaluated_time),
            "evaluation_summary": {
                "verdict": "eligible",
                "mae_improvement_pct": 8.4,
                "rmse_improvement_pct": 6.1,
                "seasonal_regressions": [],
            },
            "model_path": f"s3://{b}/customer_tailored/{c}/models/challenger_model.h5",
            "feature_schema_version": "v2",
            "supports_quantiles": False,
        }

    def registry(self) -> dict:
        """Steps 1.2 and 1.4 in one document: production plus the eligible challenger."""
        return {
            "customer_id": self.customer_id,
            "production": self.production_entry(),
            "challengers": [self.challenger_entry()],
        }

    def audit_log(self) -> dict:
        return {"customer_id": self.customer_id, "events": []}

    def objects(self) -> dict[str, dict]:
        """Every object Phase 1 writes, by key."""
        return {
            self.registry_key: self.registry(),
            self.production_metrics_key: PRODUCTION_METRICS,
            self.challenger_metrics_key: CHALLENGER_METRICS,
            self.audit_key: self.audit_log(),
        }
