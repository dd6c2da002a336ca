"""A sandbox to run against: a module's own (`module_sandbox`), a fresh customer in the plan's Phase 1 state
(`build_sandbox_world`), and requests against its API (`SandboxHttp`). The session's shared sandbox and the
fixtures over these are in conftest.py."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from zorora_e2e_plugin.core.steps import Reporter

from .figures import leftover_check, register_figures
from .results import bucket_keys


def customer(tag: str) -> str:
    return f"zorora-e2e-test-{tag}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def module_sandbox(config, **sandbox_args):
    """A reliability module's sandbox: the figures registered, and at its end nothing left in its bucket by any
    run of the module."""
    from zorora_e2e_plugin.sandbox import Sandbox

    register_figures(config)
    with Sandbox(**sandbox_args) as sb:
        yield sb
        assert leftover_check(bucket_keys(sb)) == []


class HangFrom(Reporter):
    """The server starts hanging on `route` when phase `phase` starts (the preflight probes every route)."""

    def __init__(self, sandbox, route, phase):
        self.sandbox, self.route, self.phase = sandbox, route, phase
        self.since: float | None = None  # time.monotonic() when the hanging began (the request log's clock)

    def phase_started(self, phase):
        if phase.id == self.phase:
            self.since = time.monotonic()
            self.sandbox.set_faults([f"hang:{self.route}"])


SANDBOX_ACTOR = "zorora-validation-bot"


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y%m%d_%H%M%S")


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SandboxWorld:
    """The plan's Phase 1 state for one customer, plus helpers to read and tweak it."""

    sandbox: Any
    customer_id: str
    production_id: str
    challenger_id: str
    base_time: datetime
    challengers: list[str] = field(default_factory=list)

    @property
    def s3(self) -> Any:
        return self.sandbox.s3_client()

    @property
    def bucket(self) -> str:
        return self.sandbox.bucket

    @property
    def registry_key(self) -> str:
        return f"customer_tailored/{self.customer_id}/latest_model.json"

    @property
    def audit_key(self) -> str:
        return f"audit_logs/{self.customer_id}/events.json"

    def put_json(self, key: str, doc: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(doc, indent=2).encode())

    def get_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(o["Key"] for o in page.get("Contents", ()))
        return out

    def registry(self) -> dict[str, Any]:
        return self.get_json(self.registry_key)

    def audit_events(self) -> list[dict[str, Any]]:
        return self.get_json(self.audit_key)["events"]

    def archive_keys(self) -> list[str]:
        return self.keys(f"customer_tailored/{self.customer_id}/archived/")

    def archives(self) -> list[dict[str, Any]]:
        return [self.get_json(k) for k in self.archive_keys()]

    def update_challenger(self, model_id: str | None = None, **changes: Any) -> None:
        model_id = model_id or self.challenger_id
        registry = self.registry()
        for entry in registry["challengers"]:
            if entry["model_id"] == model_id:
                entry.update(changes)
        self.put_json(self.registry_key, registry)

    def set_challenger_metrics(self, backtest: dict[str, Any], model_id: str | None = None) -> None:
        model_id = model_id or self.challenger_id
        key = f"model_metrics/{self.customer_id}/{model_id}/backtest_results.json"
        self.put_json(key, {"backtest": backtest})

    def add_challenger(self, minutes_later: int, backtest: dict[str, Any] | None = None) -> str:
        """Another eligible challenger (trained ``minutes_later`` after the first one)."""
        trained = self.base_time - timedelta(days=1) + timedelta(minutes=minutes_later)
        model_id = f"{self.customer_id}/challenger_{_ts(trained)}"
        registry = self.registry()
        registry["challengers"].append(_challenger_entry(self.sandbox.bucket, self.customer_id, model_id, trained))
        self.put_json(self.registry_key, registry)
        self.set_challenger_metrics(backtest or dict(CHALLENGER_BACKTEST), model_id)
        self.challengers.append(model_id)
        return model_id


PRODUCTION_BACKTEST = {"mae": 45.0, "rmse": 62.7, "bias": -1.5, "windows": 12}


CHALLENGER_BACKTEST = {"mae": 41.2, "rmse": 58.9, "bias": -1.3, "windows": 12}


def _challenger_entry(bucket: str, customer_id: str, model_id: str, trained: datetime) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "trained_at": _iso(trained),
        "status": "evaluated",
        "evaluated_at": _iso(trained + timedelta(minutes=30)),
        "evaluation_summary": {
            "verdict": "eligible",
            "mae_improvement_pct": 8.4,
            "rmse_improvement_pct": 6.1,
            "seasonal_regressions": [],
        },
        "model_path": f"s3://{bucket}/customer_tailored/{customer_id}/models/challenger_model.h5",
        "feature_schema_version": "v2",
        "supports_quantiles": False,
    }


def build_sandbox_world(sandbox: Any, customer_id: str | None = None) -> SandboxWorld:
    """Write the plan's Phase 1 (steps 1.1-1.6) for a fresh customer, in UTC."""
    customer_id = customer_id or f"sbx-test-{uuid.uuid4().hex[:12]}"
    bucket = sandbox.bucket
    base = datetime.now(timezone.utc).replace(microsecond=0)
    production_ts = _ts(base - timedelta(days=7))
    trained = base - timedelta(days=1)
    production_id = f"{customer_id}/production/model_{production_ts}"
    challenger_id = f"{customer_id}/challenger_{_ts(trained)}"
    world = SandboxWorld(sandbox, customer_id, production_id, challenger_id, base, [challenger_id])
    production_metrics_key = f"model_metrics/{customer_id}/production/model_{production_ts}/backtest_results.json"
    world.put_json(
        world.registry_key,
        {
            "customer_id": customer_id,
            "production": {
                "model_id": production_id,
                "promoted_at": _iso(base - timedelta(days=7)),
                "promoted_by": "test-setup",
                "model_path": f"s3://{bucket}/customer_tailored/{customer_id}/models/production_model.h5",
                "metrics_ref": f"s3://{bucket}/{production_metrics_key}",
                "feature_schema_version": "v2",
                "supports_quantiles": False,
                "health_status": "healthy",
                "health_check_timestamp": _iso(base - timedelta(days=7)),
            },
            "challengers": [_challenger_entry(bucket, customer_id, challenger_id, trained)],
        },
    )
    world.put_json(production_metrics_key, {"backtest": dict(PRODUCTION_BACKTEST)})
    world.set_challenger_metrics(dict(CHALLENGER_BACKTEST))
    world.put_json(world.audit_key, {"customer_id": customer_id, "events": []})
    return world


class SandboxHttp:
    """requests against a sandbox's API with its token (or another / none)."""

    _DEFAULT = object()

    def __init__(self, sandbox: Any) -> None:
        import requests

        self.sandbox = sandbox
        self.session = requests.Session()

    def _headers(self, token: Any, actor: str | None) -> dict[str, str]:
        token = self.sandbox.token if token is self._DEFAULT else token
        headers = {"X-Actor": actor or "header-actor"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, *, token: Any = _DEFAULT, actor: str | None = None):
        return self.session.get(
            self.sandbox.api_url + path, params=params, headers=self._headers(token, actor), timeout=30
        )

    def post(self, path: str, body: Any = None, *, token: Any = _DEFAULT, actor: str | None = None, data: Any = None):
        headers = self._headers(token, actor)
        if data is not None:
            headers["Content-Type"] = "application/json"
            return self.session.post(self.sandbox.api_url + path, data=data, headers=headers, timeout=30)
        return self.session.post(self.sandbox.api_url + path, json=body, headers=headers, timeout=30)

    def promote(
        self,
        world: SandboxWorld,
        model_id: str | None = None,
        *,
        force: bool = False,
        actor: str = SANDBOX_ACTOR,
        reason: str = "End-to-end validation test promotion",
        **kw: Any,
    ):
        body = {
            "customer_id": world.customer_id,
            "model_id": model_id or world.challenger_id,
            "reason": reason,
            "force": force,
            "actor": actor,
        }
        return self.post("/promote", body, **kw)

    def rollback(
        self,
        world: SandboxWorld,
        *,
        actor: str = SANDBOX_ACTOR,
        reason: str = "End-to-end validation test rollback",
        **kw: Any,
    ):
        return self.post("/rollback", {"customer_id": world.customer_id, "reason": reason, "actor": actor}, **kw)

    def close(self) -> None:
        self.session.close()
