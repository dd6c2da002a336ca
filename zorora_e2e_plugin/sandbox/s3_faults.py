"""Faults of the sandbox's public S3 that change what it says, not only when (moto_s3.PublicS3 applies them):

    ignore-prefix          ListObjectsV2/ListObjectVersions ignore `prefix`: every key of the bucket comes back
    listing-lag:<text>     listings omit keys containing <text> (an eventually consistent store, a listing cache)
    s3-clock:<seconds>     S3's clock runs that many seconds ahead (negative: behind) of this machine's: the Date
                           header and every LastModified of its answers
    no-version-delete      deleting an object version or delete marker is refused (AccessDenied): credentials
                           without s3:DeleteObjectVersion
    s3-auth                each request's credentials are checked as AWS S3 checks them (s3_auth.py)

and which keys each delete named (for the request log: a test proves no delete went outside a customer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode
from xml.sax.saxutils import unescape

from . import s3_auth
from .wsgi import _buffer_body, _raw_target

_KEY = re.compile(rb"<Key>(.*?)</Key>", re.S)
_LAST_MODIFIED = re.compile(rb"<LastModified>([^<]+)</LastModified>")
_ENTRY = re.compile(rb"<(Contents|Version|DeleteMarker)>.*?</\1>", re.S)
CLOCK_KEY = "zorora.s3_clock_shift"
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied: '
    b"s3:DeleteObjectVersion is not allowed (sandbox fault no-version-delete)</Message></Error>"
)


def deleted_keys(environ: dict[str, Any], bucket: str) -> tuple[str, ...]:
    """The keys a DeleteObject (DELETE /bucket/key) or DeleteObjects (POST /bucket?delete) request names."""
    method = environ.get("REQUEST_METHOD")
    path, query = _raw_target(environ)
    if method == "DELETE":
        key = unquote(path.lstrip("/")[len(bucket) + 1 :]) if path.lstrip("/").startswith(bucket + "/") else ""
        return (key,) if key else ()
    if method == "POST" and "delete" in dict(parse_qsl(query, keep_blank_values=True)):
        body = _buffer_body(environ)
        return tuple(unescape(m.decode("utf-8", "replace")) for m in _KEY.findall(body))
    return ()


def _is_listing(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") != "GET":
        return False
    path, query = _raw_target(environ)
    names = {k for k, _ in parse_qsl(query, keep_blank_values=True)}
    return path.strip("/").count("/") == 0 and ("list-type" in names or "versions" in names)


def _is_version_delete(environ: dict[str, Any]) -> bool:
    path, query = _raw_target(environ)
    names = {k for k, _ in parse_qsl(query, keep_blank_values=True)}
    method = environ.get("REQUEST_METHOD")
    if method == "DELETE" and "versionId" in names:
        return True
    return method == "POST" and "delete" in names and b"<VersionId>" in _buffer_body(environ)


def _drop_prefix(environ: dict[str, Any]) -> None:
    path, query = _raw_target(environ)
    kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "prefix"], quote_via=quote)
    kept = kept.replace("versions=&", "versions&").replace("versions=", "versions") if "versions=" in kept else kept
    environ["QUERY_STRING"] = kept
    for name in ("RAW_URI", "REQUEST_URI"):
        if name in environ:
            environ[name] = path + ("?" + kept if kept else "")


def _shift_iso(match: re.Match[bytes], seconds: float) -> bytes:
    text = match.group(1).decode()
    try:
        moment = datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return match.group(0)
    moved = (moment + timedelta(seconds=seconds)).astimezone(timezone.utc)
    return b"<LastModified>" + moved.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3].encode() + b"Z</LastModified>"


def _shift_http_date(value: str, seconds: float) -> str:
    try:
        return format_datetime(
            (parsedate_to_datetime(value) + timedelta(seconds=seconds)).astimezone(timezone.utc), usegmt=True
        )
    except (TypeError, ValueError, IndexError):
        return value


class S3Faults:
    """WSGI middleware in front of the public moto app, for the faults above."""

    def __init__(self, faults: Callable[[], Any], app: Callable, credentials: tuple[str, str] = ("", "")) -> None:
        self.faults, self.app = faults, app
        self.credentials = credentials  # the sandbox's access key id and secret (the s3-auth fault checks them)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        faults = self.faults()
        refused = s3_auth.refusal(environ, *self.credentials) if "s3-auth" in faults else None
        if refused:
            _buffer_body(environ)  # read what was sent, as S3 does before it answers
            return s3_auth.answer(environ, start_response, refused)
        if "no-version-delete" in faults and _is_version_delete(environ):
            start_response(
                "403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(ACCESS_DENIED)))]
            )
            return [ACCESS_DENIED]
        listing = _is_listing(environ)
        if listing and "ignore-prefix" in faults:
            _drop_prefix(environ)
        hidden = [str(f.value) for f in faults if f.name == "listing-lag"] if listing else []
        shift = sum(float(f.value) for f in faults if f.name == "s3-clock")
        if not hidden and not shift:
            return self.app(environ, start_response)
        environ[CLOCK_KEY] = shift  # the handler's own Date header (moto_s3._S3RequestHandler) moves too
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            return lambda data: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        if hidden:
            body = _ENTRY.sub(
                lambda m: (
                    b"" if any(h.encode() in (_KEY.search(m.group(0)) or [b"", b""])[1] for h in hidden) else m.group(0)
                ),
                body,
            )
        if shift:
            body = _LAST_MODIFIED.sub(lambda m: _shift_iso(m, shift), body)
        headers = []
        for name, value in seen.get("headers", []):
            if name.lower() in ("date", "last-modified") and shift:
                value = _shift_http_date(value, shift)
            if name.lower() == "content-length" and environ.get("REQUEST_METHOD") != "HEAD":
                value = str(len(body))
            headers.append((name, value))
        start_response(seen.get("status", "500 Internal Server Error"), headers)
        return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]
