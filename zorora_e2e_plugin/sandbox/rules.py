"""The ONA platform's business rules: ``Platform``, globalTrainingService's behaviour on one bucket.

This is the "models" half of the sandbox (moto's split): no HTTP, no events. Every public
method returns a JSON-ready dict or raises a ``PlatformError`` carrying the HTTP status and
the message the real Lambda answers with. The rules are layered, each on the one below:

    state.py     S3 layout, errors, timestamps, conditional JSON writes, the per-customer lock
    archive.py   archives and the audit log
    registry.py  the registry, metrics, ``/diff`` and the promotion gates
    rules.py     ``Platform``: promote and rollback, the two writes, composed from the above

The names the rest of the sandbox and its tests use are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .archive import AUDIT_ATTEMPTS, Archives
from .registry import (
    FRESHNESS,
    GATES_FAILED,
    MIN_IMPROVEMENT_PCT,
    MIN_WINDOWS,
    STALE_GATE,
    Registry,
    compare,
    improvement_pct,
)
from .state import (
    LOCK_LEASE,
    LOCK_PREFIX,
    MIN_REASON_CHARS,
    BadRequest,
    BucketState,
    Conflict,
    NotFound,
    PlatformError,
    _LostRace,
    archive_prefix,
    audit_key,
    compact_ts,
    customer_of,
    default_metrics_key,
    iso_z,
    lock_key,
    parse_iso,
    parse_s3_uri,
    registry_key,
    require_customer_id,
    require_reason,
    require_text,
    utc_now,
)

__all__ = [
    "AUDIT_ATTEMPTS",
    "FRESHNESS",
    "GATES_FAILED",
    "LOCK_LEASE",
    "LOCK_PREFIX",
    "MIN_IMPROVEMENT_PCT",
    "MIN_REASON_CHARS",
    "MIN_WINDOWS",
    "NOTHING_TO_ROLL_BACK",
    "STALE_GATE",
    "Archives",
    "BadRequest",
    "BucketState",
    "Conflict",
    "Deployment",
    "NotFound",
    "Platform",
    "PlatformError",
    "Registry",
    "archive_prefix",
    "audit_key",
    "compact_ts",
    "compare",
    "customer_of",
    "default_metrics_key",
    "improvement_pct",
    "iso_z",
    "lock_key",
    "parse_iso",
    "parse_s3_uri",
    "registry_key",
    "require_customer_id",
    "require_reason",
    "require_text",
    "utc_now",
]

NOTHING_TO_ROLL_BACK = "No archived production model to roll back to"


@dataclass(frozen=True)
class Deployment:
    """How a deployment of globalTrainingService behaves; all True is the healthy platform.

    ``resolve_latest_alias``/``write_audit``/``archive_on_promote``/``archive_on_rollback``/``enforce_gates``
    exist so the sandbox can reproduce broken deployments. ``delete_restored_archive=False`` is a legitimate
    variant: the real function's IAM policy has no s3:DeleteObject, so it may keep the archive a rollback
    restored.
    """

    resolve_latest_alias: bool = True
    write_audit: bool = True
    archive_on_promote: bool = True
    archive_on_rollback: bool = True
    delete_restored_archive: bool = True
    enforce_gates: bool = True


class Platform(Registry):
    """globalTrainingService's behaviour on one bucket, as `deployment` says (the healthy one by default)."""

    def __init__(
        self, s3: Any, bucket: str, deployment: Deployment = Deployment(), *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(s3, bucket, clock=clock)
        self.resolve_latest_alias = deployment.resolve_latest_alias
        self.write_audit = deployment.write_audit
        self.archive_on_promote = deployment.archive_on_promote
        self.archive_on_rollback = deployment.archive_on_rollback
        self.delete_restored_archive = deployment.delete_restored_archive
        self.enforce_gates = deployment.enforce_gates

    def promote(
        self,
        customer_id: Any,
        model_id: Any,
        reason: Any,
        *,
        force: bool = False,
        actor: str = "unknown",
        request_id: str = "",
    ) -> dict[str, Any]:
        customer_id = require_customer_id(customer_id)
        model_id = require_text(model_id, "model_id")
        reason = require_reason(reason)

        def busy() -> PlatformError:
            return Conflict(
                GATES_FAILED,
                failed_gates=[f"concurrent promotion in progress for customer {customer_id}"],
            )

        with self._customer_lock(customer_id, request_id, busy):
            registry, etag = self._registry(customer_id)
            challenger = self._challenger(registry, model_id)
            if registry is None or challenger is None:
                raise NotFound(f"Challenger {model_id} not found")
            if not force and self.enforce_gates:
                failed = self.failed_gates(registry, challenger)
                if failed:
                    raise Conflict(GATES_FAILED, failed_gates=failed)
            now = self._request_time(customer_id)
            previous = registry.get("production") if isinstance(registry.get("production"), dict) else None
            archived = None
            if previous and self.archive_on_promote:
                archived = self._archive(customer_id, previous, "superseded", now)
            production = dict(challenger)
            production["promoted_at"] = iso_z(now)
            production["promoted_by"] = actor
            updated = dict(registry)
            updated["production"] = production
            updated["challengers"] = [c for c in registry["challengers"] if c is not challenger]
            try:
                self._put_json(registry_key(customer_id), updated, if_match=etag)
            except _LostRace:
                if archived:
                    self._delete(archived)
                raise busy() from None
            self._append_audit(customer_id, self._event("promote", actor, model_id, reason, request_id, now))
        return {
            "message": "Model promoted",
            "customer_id": customer_id,
            "model_id": model_id,
            "previous_model_id": (previous or {}).get("model_id"),
            "promoted_at": iso_z(now),
            "request_id": request_id,
        }

    def rollback(
        self, customer_id: Any, reason: Any, *, actor: str = "unknown", request_id: str = ""
    ) -> dict[str, Any]:
        customer_id = require_customer_id(customer_id)
        reason = require_reason(reason)

        def busy() -> PlatformError:
            return Conflict(f"Another promotion or rollback is in progress for customer {customer_id}; retry shortly")

        with self._customer_lock(customer_id, request_id, busy):
            registry, etag = self._registry(customer_id)
            target = None
            for _ts, key in reversed(self._archives(customer_id)):
                doc, doc_etag = self._get_json(key)
                if isinstance(doc, dict) and doc.get("archive_reason", "superseded") == "superseded":
                    target = (key, doc, doc_etag)
                    break
            if target is None:
                raise Conflict(NOTHING_TO_ROLL_BACK)
            key, archived_doc, archived_etag = target
            now = self._request_time(customer_id)
            current = (registry or {}).get("production")
            current = current if isinstance(current, dict) else None
            new_archive = None
            if current and self.archive_on_rollback:
                new_archive = self._archive(customer_id, current, "rolled_back", now)
            restored = {k: v for k, v in archived_doc.items() if k not in ("archived_at", "archive_reason")}
            if set(restored) == {"entry"} and isinstance(restored["entry"], dict):  # archive-wrapped
                restored = dict(restored["entry"])
            restored["rollback_at"] = iso_z(now)
            restored["rolled_back_by"] = actor
            updated = dict(registry) if registry else {"customer_id": customer_id, "challengers": []}
            updated["production"] = restored
            try:
                self._put_json(registry_key(customer_id), updated, if_match=etag, create=etag is None)
            except _LostRace:
                if new_archive:
                    self._delete(new_archive)
                raise busy() from None
            if self.delete_restored_archive:  # else kept as it is, as a function without s3:DeleteObject would
                self._delete(key, if_match=archived_etag)
            restored_id = str(restored.get("model_id"))
            self._append_audit(customer_id, self._event("rollback", actor, restored_id, reason, request_id, now))
        return {
            "message": "Rolled back",
            "customer_id": customer_id,
            "model_id": restored_id,
            "rolled_back_model_id": (current or {}).get("model_id"),
            "rollback_at": iso_z(now),
            "request_id": request_id,
        }
