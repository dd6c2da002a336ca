"""The registry, the metrics and the promotion gates: everything promote checks before it writes.

Rules on S3 state, no HTTP: read ``latest_model.json`` (and, for a model no longer in it, its archive),
find a model's backtest metrics, compare two of them (``/diff``) and list the gates a challenger fails.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from .archive import Archives
from .state import (
    NotFound,
    PlatformError,
    archive_prefix,
    customer_of,
    default_metrics_key,
    parse_iso,
    parse_s3_uri,
    registry_key,
    require_customer_id,
    require_text,
)

FRESHNESS = timedelta(days=7)
MIN_IMPROVEMENT_PCT = 5.0
MIN_WINDOWS = 12

STALE_GATE = "metrics stale (>7 days)"
GATES_FAILED = "Challenger does not meet promotion gates"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def improvement_pct(production: Any, challenger: Any) -> float | None:
    """(production - challenger) / production * 100, 2 dp; None when not computable."""
    p, c = _num(production), _num(challenger)
    if p is None or c is None or p == 0:
        return None
    return round((p - c) / p * 100.0, 2)


def compare(challenger_metrics: Any, production_metrics: Any, seasonal_regressions: Any = ()) -> dict[str, Any]:
    """The diff between two backtest_results.json documents: improvement, regressions, verdict."""
    cb = (challenger_metrics or {}).get("backtest") if isinstance(challenger_metrics, dict) else None
    pb = (production_metrics or {}).get("backtest") if isinstance(production_metrics, dict) else None
    cb = cb if isinstance(cb, dict) else {}
    pb = pb if isinstance(pb, dict) else {}
    improvement = {
        "mae_pct": improvement_pct(pb.get("mae"), cb.get("mae")),
        "rmse_pct": improvement_pct(pb.get("rmse"), cb.get("rmse")),
    }
    regressions: list[str] = []
    for name in ("mae", "rmse"):
        p, c = _num(pb.get(name)), _num(cb.get(name))
        if p is None or c is None:
            regressions.append(f"{name} missing from backtest metrics")
        elif c > p:
            regressions.append(f"{name} worse: {p:g} -> {c:g}")
    for item in seasonal_regressions or ():
        regressions.append(f"seasonal: {item if isinstance(item, str) else json.dumps(item, sort_keys=True)}")
    windows = _num(cb.get("windows"))
    improved = any(v is not None and v >= MIN_IMPROVEMENT_PCT for v in improvement.values())
    eligible = improved and not regressions and windows is not None and windows >= MIN_WINDOWS
    return {
        "verdict": "eligible" if eligible else "not_eligible",
        "improvement": improvement,
        "regressions": regressions,
        "windows": windows,
    }


class Registry(Archives):
    """The registry of one bucket, read-only. ``resolve_latest_alias=False`` reproduces a deployment that
    does not resolve ``{C}/production/latest`` (set by ``rules.Platform``)."""

    resolve_latest_alias = True

    def _registry(self, customer_id: str) -> tuple[dict[str, Any] | None, str | None]:
        doc, etag = self._get_json(registry_key(customer_id))
        if doc is None:
            return None, None
        if not isinstance(doc, dict):
            raise PlatformError(f"Registry for customer {customer_id} is not a JSON object")
        challengers = doc.get("challengers")
        if challengers is None:
            doc["challengers"] = []
        elif not isinstance(challengers, list):
            raise PlatformError(f"Registry for customer {customer_id}: challengers is not a list")
        production = doc.get("production")
        if production is not None and not isinstance(production, dict):
            raise PlatformError(f"Registry for customer {customer_id}: production is not an object")
        return doc, etag

    @staticmethod
    def _challenger(registry: dict[str, Any] | None, model_id: str) -> dict[str, Any] | None:
        for entry in (registry or {}).get("challengers") or ():
            if isinstance(entry, dict) and entry.get("model_id") == model_id:
                return entry
        return None

    def _entry(self, model_id: str) -> dict[str, Any] | None:
        """The registry entry (production, challenger, else archived) describing model_id."""
        customer_id = customer_of(model_id)
        registry, _ = self._registry(customer_id)
        production = (registry or {}).get("production")
        if isinstance(production, dict) and production.get("model_id") == model_id:
            return production
        entry = self._challenger(registry, model_id)
        if entry is not None:
            return entry
        for _ts, key in reversed(self._archives(customer_id)):
            if key.startswith(archive_prefix(customer_id) + model_id + "_"):
                doc, _ = self._get_json(key)
                if isinstance(doc, dict) and doc.get("model_id") == model_id:
                    return doc
        return None

    def _metrics(self, model_id: str, entry: dict[str, Any] | None = None, *, look_up: bool = True) -> Any:
        if entry is None and look_up:
            entry = self._entry(model_id)
        ref = parse_s3_uri((entry or {}).get("metrics_ref"))
        bucket, key = ref if ref else (self.bucket, default_metrics_key(model_id))
        doc, _ = self._get_json(key, bucket)
        return doc

    # ---- read-only routes

    def list_challengers(self, customer_id: Any) -> dict[str, Any]:
        customer_id = require_customer_id(customer_id)
        registry, _ = self._registry(customer_id)
        challengers = list((registry or {}).get("challengers") or [])
        return {"customer_id": customer_id, "challengers": challengers, "count": len(challengers)}

    def get_metrics(self, model_id: Any) -> dict[str, Any]:
        model_id = require_text(model_id, "model_id")
        doc = self._metrics(model_id)
        if doc is None:
            raise NotFound(f"Metrics not found for model {model_id}")
        return {"model_id": model_id, "metrics": doc}

    def resolve_production_id(self, production_id: str) -> str:
        m = re.fullmatch(r"(.+)/production/latest", production_id)
        if not m or not self.resolve_latest_alias:
            return production_id
        customer_id = m.group(1)
        registry, _ = self._registry(customer_id)
        production = (registry or {}).get("production")
        if not isinstance(production, dict) or not production.get("model_id"):
            raise NotFound(f"No production model for customer {customer_id} (cannot resolve {production_id})")
        return str(production["model_id"])

    def diff(self, challenger_id: Any, production_id: Any) -> dict[str, Any]:
        challenger_id = require_text(challenger_id, "challenger_id")
        production_id = require_text(production_id, "production_id")
        resolved = self.resolve_production_id(production_id)
        challenger_entry = self._entry(challenger_id)
        challenger_metrics = self._metrics(challenger_id, challenger_entry, look_up=False)
        if challenger_metrics is None:
            raise NotFound(f"Metrics not found for model {challenger_id}")
        production_metrics = self._metrics(resolved)
        if production_metrics is None:
            raise NotFound(f"Metrics not found for model {resolved}")
        summary = (challenger_entry or {}).get("evaluation_summary") or {}
        seasonal = summary.get("seasonal_regressions") if isinstance(summary, dict) else None
        result = compare(challenger_metrics, production_metrics, seasonal if isinstance(seasonal, list) else ())
        return {
            "challenger_id": challenger_id,
            "production_id": resolved,
            "verdict": result["verdict"],
            "improvement": result["improvement"],
            "regressions": result["regressions"],
        }

    # ---- gates

    def failed_gates(self, registry: dict[str, Any], challenger: dict[str, Any]) -> list[str]:
        failed: list[str] = []
        status = challenger.get("status")
        if status != "evaluated":
            failed.append(f"status is {status!r}, expected 'evaluated'")
        evaluated_at = challenger.get("evaluated_at")
        try:
            if self.clock() - parse_iso(evaluated_at) > FRESHNESS:
                failed.append(STALE_GATE)
        except ValueError:
            failed.append(f"evaluated_at missing or not ISO-8601: {evaluated_at!r}")
        summary = challenger.get("evaluation_summary")
        summary = summary if isinstance(summary, dict) else {}
        verdict = summary.get("verdict")
        if verdict != "eligible":
            failed.append(f"evaluation verdict is {verdict!r}, expected 'eligible'")
        seasonal = summary.get("seasonal_regressions")
        if seasonal:
            failed.append(f"seasonal regressions: {json.dumps(seasonal, sort_keys=True)}")

        model_id = str(challenger.get("model_id"))
        challenger_metrics = self._metrics(model_id, challenger, look_up=False)
        if challenger_metrics is None:
            failed.append(f"metrics not found for challenger {model_id}")
            return failed
        production = registry.get("production")
        production_metrics = None
        if isinstance(production, dict) and production.get("model_id"):
            production_metrics = self._metrics(str(production["model_id"]), production, look_up=False)
            if production_metrics is None:
                failed.append(f"metrics not found for production {production['model_id']}")
        result = compare(challenger_metrics, production_metrics or {})
        if production_metrics is not None:
            imp = result["improvement"]
            if not any(v is not None and v >= MIN_IMPROVEMENT_PCT for v in imp.values()):
                failed.append(
                    f"improvement below {MIN_IMPROVEMENT_PCT:g}% (mae {imp['mae_pct']}%, rmse {imp['rmse_pct']}%)"
                )
        windows = result["windows"]
        if windows is None or windows < MIN_WINDOWS:
            shown = "missing" if windows is None else f"{windows:g}"
            failed.append(f"backtest windows {shown} < {MIN_WINDOWS}")
        return failed
