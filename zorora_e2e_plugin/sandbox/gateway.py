"""The HTTP front: API Gateway on loopback in front of the Lambda handler (``api.Api``).

Turns each HTTP request into a payload-2.0 event (``rawPath`` keeps the ``/prod`` stage prefix),
applies the gateway-level faults (latency, flaky 503, cold start, hang, html-200, huge-body,
truncated-json, echo-auth), records each request in the sandbox's request log, and answers JSON
whatever it is sent: a malformed request, a crashed integration, a client too slow for the read
timeout. The lambda-outlives fault: API Gateway gives up on a promote/rollback (504) while the Lambda runs
on and writes later, as the real one can (its own limit is 15 minutes, API Gateway's about 29 s).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler

from .api import Api, gateway_not_found
from .record import RequestRecord
from .wsgi import Running, _buffer_body, _QuietMixin, _raw_target, _read_body, _status_line

log = logging.getLogger(__name__)

_TEXT_TYPES = ("json", "xml", "javascript", "text/")


class _ApiRequestHandler(_QuietMixin, WSGIRequestHandler):
    """API Gateway answers JSON, whatever it is sent: a garbage request line, a header too long, a client too
    slow gets `{"message": ...}` (http.server's default is an HTML page)."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        phrase = _status_line(code).split(" ", 1)[1]  # never the client's garbage: it is not echoed back
        body = json.dumps({"message": phrase}).encode("utf-8")
        if self.request_version == "HTTP/0.9":  # what http.server assumes for a line it cannot parse
            self.request_version = "HTTP/1.1"
        self.close_connection = True
        try:
            self.send_response(code, phrase)
            self.send_header("Connection", "close")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass


class _LambdaContext:
    function_name = "globalTrainingService"
    memory_limit_in_mb = 1024

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


def build_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    stage: str = "prod",
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as the real gateway builds it (a new request id each time)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    cookies = [c.strip() for c in merged.pop("cookie", "").split(";") if c.strip()]
    query: dict[str, str] = {k: ",".join(v) for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    now = datetime.now(timezone.utc)
    request_id = base64.b64encode(os.urandom(10)).decode("ascii")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "sandbox",
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": merged.get("host", "127.0.0.1").split(".", 1)[0],
            "http": {
                "method": method.upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        content_type = merged.get("content-type", "").lower()
        text = None
        if any(t in content_type for t in _TEXT_TYPES):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def _environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            out.append((key.replace("_", "-").lower(), value))
    return out


class ApiGateway:
    """HTTP -> payload-2.0 event -> Lambda handler -> HTTP, with the gateway-level faults."""

    def __init__(self, servers: Running, api: Api, stage: str = "prod") -> None:
        self.servers, self.api, self.stage = servers, api, stage
        self._bucket = _TokenBucket()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        path, query = _raw_target(environ)
        sent = b""  # the request's body (the actor for the request log)
        try:
            sent = _buffer_body(environ)
        except OSError:  # a client that sent half its body and stopped: the read timed out (or it hung up)
            status, headers, body = 408, [("Content-Type", "application/json")], b'{"message":"Request Timeout"}'
        else:
            try:
                status, headers, body = self._respond(environ, method, path, query)
            except Exception:
                log.exception("sandbox API gateway failed on %s %s", method, path)
                status, headers, body = (
                    500,
                    [("Content-Type", "application/json")],
                    b'{"message":"Internal Server Error"}',
                )
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        self.servers.sandbox._record(
            RequestRecord(
                "api", method, path, status, started, time.monotonic(), query=query, actor=_actor_of(environ, sent)
            )
        )
        return [body]

    def _respond(self, environ: dict[str, Any], method: str, path: str, query: str) -> tuple[int, list, bytes]:
        faults = self.servers.sandbox._faults
        status, headers, data = self._answer(environ, method, path, query, faults)
        if status >= 400 and "echo-auth" in faults:
            data = _echo_authorization(data, str(environ.get("HTTP_AUTHORIZATION") or ""))
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "application/json"))
        return status, headers, data

    def _answer(
        self, environ: dict[str, Any], method: str, path: str, query: str, faults: Any
    ) -> tuple[int, list, bytes]:
        servers = self.servers
        body = _read_body(environ)
        servers.delay(faults.latency_ms)
        if faults.throttle is not None and not self._bucket.take(*faults.throttle):
            return 429, [("Content-Type", "application/json")], b'{"message":"Too Many Requests"}'
        if servers.flaky_hit(faults.flaky_pct):
            return 503, [("Content-Type", "application/json")], b'{"message":"Service Unavailable"}'
        route = route_of(path, self.stage)
        if faults.hits("hang", route):
            servers.hang(route)
            return 504, [("Content-Type", "application/json")], b'{"message":"Endpoint request timed out"}'
        if faults.hits("html-200", route):
            return 200, [("Content-Type", "text/html; charset=utf-8")], HTML_PAGE
        if not (path == f"/{self.stage}" or path.startswith(f"/{self.stage}/")):
            result = gateway_not_found()
        else:
            servers.cold_start(faults.cold_start_ms)
            event = build_event(
                method,
                path,
                query,
                _environ_headers(environ),
                body,
                source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
                stage=self.stage,
            )
            outlives = [f.value for f in faults if f.name == "lambda-outlives"]
            if (
                outlives
                and method == "POST"
                and route in ("/promote", "/rollback")
                and acts(body)
                and environ.get("HTTP_AUTHORIZATION") == f"Bearer {self.api.config.token}"
            ):
                self._run_on(event, float(outlives[-1]))
                return 504, [("Content-Type", "application/json")], b'{"message":"Endpoint request timed out"}'
            result = self.api(event, _LambdaContext(event["requestContext"]["requestId"]))
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode("utf-8")
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        status = int(result.get("statusCode") or 500)
        if 200 <= status < 300:
            if faults.hits("huge-body", route):
                data = huge_body()
            elif faults.hits("truncated-json", route):
                data = data[: max(1, len(data) // 2)]
        return status, headers, data

    def _run_on(self, event: dict[str, Any], ms: float) -> None:
        """The lambda-outlives fault: the Lambda goes on in the background after API Gateway gave up; its writes
        (unconditional) land `ms` later."""
        config = dataclasses.replace(self.api.config, s3=LateWrites(self.api.config.s3, self.servers, ms))
        api = Api(config)
        context = _LambdaContext(event["requestContext"]["requestId"])
        threading.Thread(target=api, args=(event, context), daemon=True, name="sandbox-lambda-outlives").start()


class _TokenBucket:
    """API Gateway's throttling (the throttle fault): `burst` tokens, refilled at `rate` per second; a request
    without a token is answered 429. Starts full; a new (burst, rate) starts a new bucket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: tuple[float, float] | None = None
        self._tokens = 0.0
        self._at = 0.0

    def take(self, burst: float, rate: float) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._limits != (burst, rate):
                self._limits, self._tokens, self._at = (burst, rate), burst, now
            self._tokens = min(burst, self._tokens + (now - self._at) * rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1>"
    b'<form method="post" action="/login"><input name="user"><input name="password" '
    b'type="password"></form></body></html>'
)
HUGE_BODY_SIZE = 10 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def huge_body() -> bytes:  # built when the fault first fires, not at import (~15 ms and 10 MB every start)
    return b'{"padding":"' + b"x" * (HUGE_BODY_SIZE - len(b'{"padding":""}')) + b'"}'


def route_of(path: str, stage: str = "prod") -> str | None:
    """``/prod/api/v1/metrics/a/b`` -> ``/metrics``; None when the path is outside the API."""
    segments = [seg for seg in path.split("/") if seg]
    if stage and segments[:1] == [stage]:
        segments = segments[1:]
    if segments[:2] != ["api", "v1"] or len(segments) < 3:
        return None
    return "/" + segments[2]


def _actor_of(environ: dict[str, Any], body: bytes) -> str:
    """Who the request says it is, for the request log: the JSON body's `actor`, else the X-Actor header."""
    actor = ""
    if body and len(body) < 65536:
        try:
            doc = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("actor"), str):
            actor = doc["actor"]
    return actor.strip() or str(environ.get("HTTP_X_ACTOR") or "").strip()


def _echo_authorization(data: bytes, authorization: str) -> bytes:
    """The echo-auth fault: an error body that repeats the Authorization header it was sent."""
    try:
        doc = json.loads(data.decode("utf-8") or "{}")
    except (ValueError, UnicodeDecodeError):
        doc = {"body": data.decode("utf-8", errors="replace")}
    if not isinstance(doc, dict):
        doc = {"body": doc}
    doc["received_authorization"] = authorization
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def acts(body: bytes) -> bool:
    """A promote/rollback the Lambda would act on (a valid reason), not one refused in milliseconds."""
    try:
        reason = json.loads(body or b"{}").get("reason")
    except (ValueError, AttributeError):
        return False
    return isinstance(reason, str) and len(reason) >= 10


class LateWrites:
    """An S3 client whose first write waits `ms` (a Lambda busy past API Gateway's limit), and whose writes are
    unconditional (no If-Match: a Lambda that does not guard its writes)."""

    def __init__(self, s3: Any, servers: Running, ms: float) -> None:
        self._s3, self._servers, self._ms, self._waited = s3, servers, ms, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def _wait(self, key: str) -> None:
        if not self._waited and key.startswith(("customer_tailored/", "audit_logs/")):  # the lock is no effect
            self._waited = True
            self._servers.delay(self._ms)

    def put_object(self, **kwargs: Any) -> Any:
        self._wait(str(kwargs.get("Key", "")))
        kwargs.pop("IfMatch", None)
        kwargs.pop("IfNoneMatch", None)
        return self._s3.put_object(**kwargs)

    def delete_object(self, **kwargs: Any) -> Any:
        self._wait(str(kwargs.get("Key", "")))
        kwargs.pop("IfMatch", None)
        return self._s3.delete_object(**kwargs)
