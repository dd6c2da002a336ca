"""Archives and the audit log: the history a promote or rollback leaves behind.

Rules on S3 state, no HTTP: list and write ``customer_tailored/{C}/archived/`` objects, choose the one
timestamp of a promote/rollback, append audit events and answer ``/audit-log``.
"""

from __future__ import annotations

import random
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from .state import (
    BucketState,
    PlatformError,
    _LostRace,
    archive_prefix,
    audit_key,
    compact_ts,
    iso_z,
    require_customer_id,
)

AUDIT_ATTEMPTS = 25


class Archives(BucketState):
    """Archive objects and audit events of one bucket. ``write_audit=False`` reproduces a deployment that
    forgets its audit log (set by ``rules.Platform``)."""

    write_audit = True
    archive_wrapped = False  # archive-wrapped: {"archived_at", "archive_reason", "entry": {...}}
    rolled_back_reason = "rolled_back"  # archive-reason:<word>: the reason a rollback's archive carries

    def _archives(self, customer_id: str) -> list[tuple[str, str]]:
        """(compact ts, key) for every archive object, oldest first."""
        out = []
        for key in self._list_keys(archive_prefix(customer_id)):
            m = re.search(r"_(\d{8}_\d{6})\.json$", key)
            out.append((m.group(1) if m else "", key))
        return sorted(out)

    def audit_log(self, customer_id: Any) -> dict[str, Any]:
        customer_id = require_customer_id(customer_id)
        doc, _ = self._get_json(audit_key(customer_id))
        events = doc.get("events") if isinstance(doc, dict) else None
        events = events if isinstance(events, list) else []
        return {"customer_id": customer_id, "events": events, "count": len(events)}

    def _request_time(self, customer_id: str) -> datetime:
        """The one timestamp of a promote/rollback (promoted_at/rollback_at, archived_at, the archive key, the
        audit event): now, to the second, but later than every archive the customer has, so that archive
        keys stay unique and ordered even for several operations within one second."""
        at = self.clock().astimezone(timezone.utc).replace(microsecond=0)
        existing = [ts for ts, _ in self._archives(customer_id) if ts]
        if existing:
            latest = datetime.strptime(max(existing), "%Y%m%d_%H%M%S").replace(tzinfo=timezone.utc)
            at = max(at, latest + timedelta(seconds=1))
        return at

    def _archive(self, customer_id: str, entry: dict[str, Any], reason: str, at: datetime) -> str:
        """Write an archive object stamped with the request's time (``archived_at`` never later than the
        request's promoted_at/rollback_at)."""
        if reason == "rolled_back":
            reason = self.rolled_back_reason
        doc: dict[str, Any] = {"entry": dict(entry)} if self.archive_wrapped else dict(entry)
        doc["archived_at"] = iso_z(at)
        doc["archive_reason"] = reason
        key_at = at
        for _attempt in range(10):
            key = f"{archive_prefix(customer_id)}{entry.get('model_id')}_{compact_ts(key_at)}.json"
            try:
                self._put_json(key, doc, create=True)
                return key
            except _LostRace:  # only without the lock; the key moves on, archived_at stays the request's time
                key_at += timedelta(seconds=1)
        raise PlatformError(f"Could not write an archive object for {entry.get('model_id')}")

    def _append_audit(self, customer_id: str, event: dict[str, Any]) -> None:
        if not self.write_audit:
            return
        key = audit_key(customer_id)
        for attempt in range(AUDIT_ATTEMPTS):
            doc, etag = self._get_json(key)
            if not isinstance(doc, dict):
                doc, etag = {"customer_id": customer_id, "events": []}, (etag if doc is not None else None)
            events = doc.get("events")
            events = events if isinstance(events, list) else []
            doc["events"] = events + [event]
            try:
                self._put_json(key, doc, if_match=etag, create=etag is None)
                return
            except _LostRace:
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise PlatformError(f"Could not append the audit event for customer {customer_id}")

    def _event(
        self, action: str, actor: str, model_id: str, reason: str, request_id: str, at: datetime
    ) -> dict[str, Any]:
        return {
            "timestamp": iso_z(at),
            "actor": actor,
            "action": action,
            "model_id": model_id,
            "reason": reason,
            "request_id": request_id,
        }
