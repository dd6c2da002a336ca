"""The ONA platform's business rules, acting on S3 state through a boto3 S3 client.

This is the "models" half of the sandbox (moto's split): no HTTP, no events. Every public
method returns a JSON-ready dict or raises a ``PlatformError`` carrying the HTTP status and
the message the real Lambda answers with.

S3 layout (CONTRACT §2):
    customer_tailored/{C}/latest_model.json              registry {customer_id, production, challengers[]}
    customer_tailored/{C}/archived/{model_id}_{ts}.json   archived production entries
    sandbox-locks/{C}/promotion.lock                     short-lived mutex (promote/rollback), deleted after use:
                                                         the sandbox's own bookkeeping, outside the customer's three
                                                         prefixes, so a run sees what the real bucket would hold
    model_metrics/{C}/{model_id}/backtest_results.json   default metrics location
    audit_logs/{C}/events.json                           {customer_id, events[]}

Consistency: the registry, archives, audit log and lock are written with S3 conditional writes
(``If-Match`` on the ETag read, ``If-None-Match: *`` to create), so concurrent Lambdas never lose an
update; promote and rollback additionally hold a per-customer lock object for their whole
read-check-write sequence, and a request that finds it held answers 409.
"""

from __future__ import annotations

import json
import random
import re
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from botocore.exceptions import ClientError, ParamValidationError

FRESHNESS = timedelta(days=7)
MIN_IMPROVEMENT_PCT = 5.0
MIN_WINDOWS = 12
MIN_REASON_CHARS = 10
LOCK_LEASE = timedelta(seconds=30)
AUDIT_ATTEMPTS = 25

STALE_GATE = "metrics stale (>7 days)"
GATES_FAILED = "Challenger does not meet promotion gates"
NOTHING_TO_ROLL_BACK = "No archived production model to roll back to"


def registry_key(customer_id: str) -> str:
    return f"customer_tailored/{customer_id}/latest_model.json"


def archive_prefix(customer_id: str) -> str:
    return f"customer_tailored/{customer_id}/archived/"


LOCK_PREFIX = "sandbox-locks/"


def lock_key(customer_id: str) -> str:
    """Outside customer_tailored/, model_metrics/ and audit_logs/: the real Lambda keeps no lock object there."""
    return f"{LOCK_PREFIX}{customer_id}/promotion.lock"


def audit_key(customer_id: str) -> str:
    return f"audit_logs/{customer_id}/events.json"


def default_metrics_key(model_id: str) -> str:
    return f"model_metrics/{customer_of(model_id)}/{model_id}/backtest_results.json"


# --------------------------------------------------------------------------- errors


class PlatformError(Exception):
    """An answer other than 200: ``status`` plus the JSON body ``{"error": message, **extra}``."""

    status = 500

    def __init__(self, message: str, status: Optional[int] = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self) -> Dict[str, Any]:
        return {"error": self.message, **self.extra}


class BadRequest(PlatformError):
    status = 400


class NotFound(PlatformError):
    status = 404


class Conflict(PlatformError):
    status = 409


class _LostRace(Exception):
    """A conditional write found the object changed (412) or contended (409)."""


# --------------------------------------------------------------------------- time and ids

_ISO = re.compile(
    r"""^\s*(\d{4})-(\d{2})-(\d{2})
        (?:[Tt\ ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?
        \s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?
        (?:Z|z)?\s*$""",
    re.X,
)


def parse_iso(text: Any) -> datetime:
    """Parse ISO-8601 leniently into an aware UTC datetime.

    Accepts ``Z``/``+00:00``/``+0200`` offsets, no offset (taken as UTC), fractional seconds of
    any length (``2025-01-20T12:30:00.123456Z``), a space instead of ``T``, a date alone, and the
    ``isoformat() + 'Z'`` mistake on aware datetimes (``...+00:00Z``). ValueError otherwise.
    """
    if isinstance(text, datetime):
        dt = text
    else:
        m = _ISO.match(str(text)) if isinstance(text, str) else None
        if not m:
            raise ValueError(f"not an ISO-8601 timestamp: {text!r}")
        y, mo, d, h, mi, s, frac, off = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        tz = timezone.utc
        if off and off.upper() not in ("Z", "UTC"):
            sign = -1 if off[0] == "-" else 1
            digits = off[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro, tzinfo=tz)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def iso_z(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact_ts(dt: datetime) -> str:
    """``YYYYMMDD_HHMMSS`` in UTC."""
    return dt.astimezone(timezone.utc).strftime("%Y%m%d_%H%M%S")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def customer_of(model_id: str) -> str:
    return model_id.split("/", 1)[0]


def parse_s3_uri(uri: Any) -> Optional[Tuple[str, str]]:
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[5:].partition("/")
    return (bucket, key) if bucket and key else None


def require_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required")
    return value.strip()


def require_customer_id(value: Any) -> str:
    customer_id = require_text(value, "customer_id")
    if "/" in customer_id:
        raise BadRequest("customer_id must not contain '/'")
    return customer_id


def require_reason(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRequest("reason is required (at least 10 characters)")
    if not isinstance(value, str) or len(value.strip()) < MIN_REASON_CHARS:
        raise BadRequest("reason must be at least 10 characters")
    return value.strip()


def _num(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def improvement_pct(production: Any, challenger: Any) -> Optional[float]:
    """(production - challenger) / production * 100, 2 dp; None when not computable."""
    p, c = _num(production), _num(challenger)
    if p is None or c is None or p == 0:
        return None
    return round((p - c) / p * 100.0, 2)


def compare(challenger_metrics: Any, production_metrics: Any, seasonal_regressions: Any = ()) -> Dict[str, Any]:
    """The diff between two backtest_results.json documents: improvement, regressions, verdict."""
    cb = (challenger_metrics or {}).get("backtest") if isinstance(challenger_metrics, dict) else None
    pb = (production_metrics or {}).get("backtest") if isinstance(production_metrics, dict) else None
    cb = cb if isinstance(cb, dict) else {}
    pb = pb if isinstance(pb, dict) else {}
    improvement = {
        "mae_pct": improvement_pct(pb.get("mae"), cb.get("mae")),
        "rmse_pct": improvement_pct(pb.get("rmse"), cb.get("rmse")),
    }
    regressions: List[str] = []
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


# --------------------------------------------------------------------------- the rules


class Platform:
    """globalTrainingService's behaviour on one bucket.

    ``resolve_latest_alias``/``write_audit``/``archive_on_promote``/``archive_on_rollback``/``enforce_gates``
    exist so the sandbox can reproduce broken deployments; the healthy platform leaves them True.
    ``delete_restored_archive=False`` is a legitimate variant: the real function's IAM policy has no
    s3:DeleteObject, so it may keep the archive a rollback restored.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        *,
        resolve_latest_alias: bool = True,
        write_audit: bool = True,
        archive_on_promote: bool = True,
        archive_on_rollback: bool = True,
        delete_restored_archive: bool = True,
        enforce_gates: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.resolve_latest_alias = resolve_latest_alias
        self.write_audit = write_audit
        self.archive_on_promote = archive_on_promote
        self.archive_on_rollback = archive_on_rollback
        self.delete_restored_archive = delete_restored_archive
        self.enforce_gates = enforce_gates
        self.clock = clock

    # ---- S3 primitives

    def _get_json(self, key: str, bucket: Optional[str] = None) -> Tuple[Any, Optional[str]]:
        bucket = bucket or self.bucket
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
        except ParamValidationError:  # e.g. a metrics_ref naming a bucket that cannot exist: nothing there
            return None, None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
                return None, None
            raise
        raw = obj["Body"].read()
        try:
            return json.loads(raw), obj.get("ETag")
        except ValueError:
            raise PlatformError(f"Corrupt JSON in s3://{bucket}/{key}") from None

    def _put_json(self, key: str, doc: Any, *, if_match: Optional[str] = None, create: bool = False) -> str:
        kwargs: Dict[str, Any] = {}
        if if_match:
            kwargs["IfMatch"] = if_match
        elif create:
            kwargs["IfNoneMatch"] = "*"
        try:
            out = self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(doc, indent=2).encode("utf-8"),
                ContentType="application/json",
                **kwargs,
            )
        except ClientError as exc:
            err = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if err.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey") or status in (
                409,
                412,
            ):
                raise _LostRace(key) from None
            raise
        return out.get("ETag", "")

    def _delete(self, key: str, *, if_match: Optional[str] = None) -> None:
        kwargs = {"IfMatch": if_match} if if_match else {}
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "PreconditionFailed") or status in (404, 412):
                return
            raise

    def _list_keys(self, prefix: str) -> List[str]:
        keys: List[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", ()))
        return keys

    # ---- registry

    def _registry(self, customer_id: str) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
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
    def _challenger(registry: Optional[Dict[str, Any]], model_id: str) -> Optional[Dict[str, Any]]:
        for entry in (registry or {}).get("challengers") or ():
            if isinstance(entry, dict) and entry.get("model_id") == model_id:
                return entry
        return None

    def _archives(self, customer_id: str) -> List[Tuple[str, str]]:
        """(compact ts, key) for every archive object, oldest first."""
        out = []
        for key in self._list_keys(archive_prefix(customer_id)):
            m = re.search(r"_(\d{8}_\d{6})\.json$", key)
            out.append((m.group(1) if m else "", key))
        return sorted(out)

    def _entry(self, model_id: str) -> Optional[Dict[str, Any]]:
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

    def _metrics(self, model_id: str, entry: Optional[Dict[str, Any]] = None, *, look_up: bool = True) -> Any:
        if entry is None and look_up:
            entry = self._entry(model_id)
        ref = parse_s3_uri((entry or {}).get("metrics_ref"))
        bucket, key = ref if ref else (self.bucket, default_metrics_key(model_id))
        doc, _ = self._get_json(key, bucket)
        return doc

    # ---- read-only routes

    def list_challengers(self, customer_id: Any) -> Dict[str, Any]:
        customer_id = require_customer_id(customer_id)
        registry, _ = self._registry(customer_id)
        challengers = list((registry or {}).get("challengers") or [])
        return {"customer_id": customer_id, "challengers": challengers, "count": len(challengers)}

    def get_metrics(self, model_id: Any) -> Dict[str, Any]:
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

    def diff(self, challenger_id: Any, production_id: Any) -> Dict[str, Any]:
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

    def audit_log(self, customer_id: Any) -> Dict[str, Any]:
        customer_id = require_customer_id(customer_id)
        doc, _ = self._get_json(audit_key(customer_id))
        events = doc.get("events") if isinstance(doc, dict) else None
        events = events if isinstance(events, list) else []
        return {"customer_id": customer_id, "events": events, "count": len(events)}

    # ---- gates

    def failed_gates(self, registry: Dict[str, Any], challenger: Dict[str, Any]) -> List[str]:
        failed: List[str] = []
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

    # ---- mutations

    @contextmanager
    def _customer_lock(self, customer_id: str, request_id: str, busy: Callable[[], PlatformError]) -> Iterator[None]:
        key = lock_key(customer_id)
        now = self.clock()
        doc = {"holder": request_id, "acquired_at": iso_z(now), "expires_at": iso_z(now + LOCK_LEASE)}
        etag = None
        for _attempt in range(3):
            try:
                etag = self._put_json(key, doc, create=True)
                break
            except _LostRace:
                held, held_etag = self._get_json(key)
                if held is None:
                    continue  # released meanwhile
                try:
                    expired = parse_iso((held or {}).get("expires_at")) < self.clock()
                except (ValueError, AttributeError):
                    expired = True
                if not expired:
                    raise busy() from None
                self._delete(key, if_match=held_etag)  # steal a stale lock (its holder died)
        if etag is None:
            raise busy()
        try:
            yield
        finally:
            try:
                self._delete(key, if_match=etag)
            except Exception:  # noqa: BLE001 - the lease expires on its own
                pass

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

    def _archive(self, customer_id: str, entry: Dict[str, Any], reason: str, at: datetime) -> str:
        """Write an archive object stamped with the request's time (``archived_at`` never later than the
        request's promoted_at/rollback_at)."""
        doc = dict(entry)
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

    def _append_audit(self, customer_id: str, event: Dict[str, Any]) -> None:
        if not self.write_audit:
            return
        key = audit_key(customer_id)
        for attempt in range(AUDIT_ATTEMPTS):
            doc, etag = self._get_json(key)
            if not isinstance(doc, dict):
                doc, etag = {"customer_id": customer_id, "events": []}, (etag if doc is not None else None)
            events = doc.get("events") if isinstance(doc.get("events"), list) else []
            doc["events"] = events + [event]
            try:
                self._put_json(key, doc, if_match=etag, create=etag is None)
                return
            except _LostRace:
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise PlatformError(f"Could not append the audit event for customer {customer_id}")

    def _event(self, action: str, actor: str, model_id: str, reason: str, request_id: str, at: datetime) -> Dict[str, Any]:
        return {
            "timestamp": iso_z(at),
            "actor": actor,
            "action": action,
            "model_id": model_id,
            "reason": reason,
            "request_id": request_id,
        }

    def promote(
        self,
        customer_id: Any,
        model_id: Any,
        reason: Any,
        *,
        force: bool = False,
        actor: str = "unknown",
        request_id: str = "",
    ) -> Dict[str, Any]:
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

    def rollback(self, customer_id: Any, reason: Any, *, actor: str = "unknown", request_id: str = "") -> Dict[str, Any]:
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
