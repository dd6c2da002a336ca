"""S3 state for the platform rules: where each object lives, how it is read and written, the errors,
timestamps, and the checks of required request fields.

The bottom of the sandbox's "models" half (moto's split): no HTTP, no events, no gate.

S3 layout (docs/platform.md, S3 layout: the plan's S3 tree):
    customer_tailored/{C}/latest_model.json              registry {customer_id, production, challengers[]}
    customer_tailored/{C}/archived/{model_id}_{ts}.json   archived production entries
    sandbox-locks/{C}/promotion.lock                     short-lived mutex (promote/rollback), deleted after use:
                                                         the sandbox's own bookkeeping, outside the customer's three
                                                         prefixes, so a run sees what the real bucket would hold
    model_metrics/{C}/{model_id}/backtest_results.json   default metrics location
    audit_logs/{C}/events.json                           {customer_id, events[]}

Consistency: the registry, archives, audit log and lock are written with S3 conditional writes
(``If-Match`` on the ETag read, ``If-None-Match: *`` to create), so concurrent Lambdas never lose an
update; promote and rollback additionally hold a per-customer lock object (``BucketState._customer_lock``)
for their whole read-check-write sequence, and a request that finds it held answers 409.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError, ParamValidationError

MIN_REASON_CHARS = 10
LOCK_LEASE = timedelta(seconds=30)


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

    def __init__(self, message: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
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


def parse_s3_uri(uri: Any) -> tuple[str, str] | None:
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


# --------------------------------------------------------------------------- one bucket's JSON objects


class BucketState:
    """JSON objects in one bucket, read with their ETag and written conditionally; the per-customer lock."""

    def __init__(self, s3: Any, bucket: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.clock = clock

    def _get_json(self, key: str, bucket: str | None = None) -> tuple[Any, str | None]:
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

    def _put_json(self, key: str, doc: Any, *, if_match: str | None = None, create: bool = False) -> str:
        kwargs: dict[str, Any] = {}
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

    def _delete(self, key: str, *, if_match: str | None = None) -> None:
        kwargs = {"IfMatch": if_match} if if_match else {}
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "PreconditionFailed") or status in (404, 412):
                return
            raise

    def _list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", ()))
        return keys

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
            except Exception:
                pass
