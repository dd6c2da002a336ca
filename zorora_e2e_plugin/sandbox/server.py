"""Loopback servers: API Gateway in front of the Lambda handler, and S3 (moto's server mode).

Three listeners, all werkzeug threaded servers on the sandbox's host:

* **api** — plays API Gateway: turns each HTTP request into a payload-2.0 event (``rawPath``
  keeps the ``/prod`` stage prefix), applies the gateway-level faults (latency, flaky 503, cold
  start) and calls ``api.Api``.
* **s3-public** — moto for clients (the validator): latency applies, and it can be made
  unreachable.
* **s3-internal** — moto for the sandbox's Lambda: no faults (in reality Lambda -> S3 is in-region).

Both S3 listeners serve the same in-process moto backend (moto's backends are process-global).
Every mutating S3 request is serialized with one process-wide lock, because moto's conditional
writes (If-Match / If-None-Match) check and then write without atomicity; with the lock the
guarantee the rules rely on is real.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import random
import socket
import threading
import time
from datetime import datetime, timezone
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

try:  # moto >= 5.1: keeps S3 metadata headers that contain underscores
    from moto.moto_server.werkzeug_app import MotoRequestHandler
except ImportError:  # pragma: no cover - older moto
    MotoRequestHandler = WSGIRequestHandler

from .api import Api, ApiConfig, gateway_not_found

if TYPE_CHECKING:  # pragma: no cover
    from . import Sandbox

log = logging.getLogger(__name__)

_S3_WRITE_LOCK = threading.Lock()  # one moto backend per process, so one lock per process
_MUTATING = {"PUT", "POST", "DELETE"}
_TEXT_TYPES = ("json", "xml", "javascript", "text/")


# --------------------------------------------------------------------------- werkzeug plumbing


class _QuietMixin:
    """No request log lines, no tracebacks for dropped connections."""

    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_error(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_message(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, *args: Any, **kwargs: Any) -> None:
        pass


class _ApiRequestHandler(_QuietMixin, WSGIRequestHandler):
    """API Gateway answers JSON, whatever it is sent: a garbage request line, a header too long, a client too
    slow gets `{"message": ...}` (http.server's default is an HTML page)."""

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
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


class _S3RequestHandler(_QuietMixin, MotoRequestHandler):
    pass


class _Server(ThreadedWSGIServer):
    """Tracks open connections so stop() can close idle keep-alive ones and join every thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    def log(self, *args: Any, **kwargs: Any) -> None:
        pass


class Listener:
    """One werkzeug threaded server on its own thread; stop() joins everything it started."""

    def __init__(self, name: str, host: str, port: int, app: Callable, handler: type,
                 read_timeout: Optional[float] = None) -> None:
        if read_timeout is not None:  # each socket read of a request (line, headers, body) waits at most this
            handler = type(handler.__name__, (handler,), {"timeout": read_timeout})
        self.name, self.host, self.requested_port, self.app, self.handler = name, host, port, app, handler
        self.server: Optional[_Server] = None
        self.thread: Optional[threading.Thread] = None
        self.port = 0

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))  # OSError here, not werkzeug's sys.exit
            sock.listen(128)
            self.server = _Server(self.host, self.requested_port, self.app, self.handler, fd=sock.fileno())
        finally:
            sock.close()  # werkzeug holds its own duplicate of the descriptor
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"zorora-sandbox-{self.name}",
            daemon=True,
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        server, thread = self.server, self.thread
        self.server = self.thread = None
        if server is None:
            return
        server.shutdown()  # accept loop ends; serve_forever then joins the request threads ...
        server.drop_connections()  # ... which idle keep-alive connections would otherwise block
        if thread is not None:
            thread.join()
        server.drop_connections()
        server.server_close()  # idempotent; joins any request thread left


# --------------------------------------------------------------------------- WSGI apps


def _read_body(environ: Dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return stream.read(length) if length > 0 else b""


def _buffer_body(environ: Dict[str, Any]) -> bytes:
    body = _read_body(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _raw_target(environ: Dict[str, Any]) -> Tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/"
    parts = urlsplit(raw)
    path = parts.path if (parts.scheme or not raw.startswith("//")) else raw.split("?", 1)[0]
    return path or "/", parts.query


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


class SerializedWrites:
    """Runs every mutating S3 request under the process-wide lock (body read before locking)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in _MUTATING:
            return self.app(environ, start_response)
        _buffer_body(environ)
        with _S3_WRITE_LOCK:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()


_session_lock = threading.Lock()
_session = None


def _boto_session() -> Any:
    """One boto3 session per process: a new one reloads every service model from disk (~900 listdirs),
    which a REPL with busy background threads feels. Not thread-safe: use under _session_lock."""
    global _session
    import boto3

    if _session is None:
        _session = boto3.session.Session()
    return _session


class PublicS3:
    """Client-facing S3: records each request and applies the latency fault."""

    def __init__(self, servers: "Servers", app: Callable) -> None:
        self.servers, self.app = servers, app

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        self.servers.delay(self.servers.sandbox._faults.latency_ms)
        seen: Dict[str, int] = {}

        def recording_start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start_response)
        path, _query = _raw_target(environ)
        self.servers.sandbox._record(
            "s3", environ.get("REQUEST_METHOD", ""), path, seen.get("status", 0), started, time.monotonic()
        )
        return result


class _LambdaContext:
    function_name = "globalTrainingService"
    memory_limit_in_mb = 1024

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


def build_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[Tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    stage: str = "prod",
    request_id: Optional[str] = None,
) -> Dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as the real gateway builds it."""
    merged: Dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    cookies = [c.strip() for c in merged.pop("cookie", "").split(";") if c.strip()]
    query: Dict[str, str] = {k: ",".join(v) for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    now = datetime.now(timezone.utc)
    request_id = request_id or base64.b64encode(os.urandom(10)).decode("ascii")
    event: Dict[str, Any] = {
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


def _environ_headers(environ: Dict[str, Any]) -> List[Tuple[str, str]]:
    out = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            out.append((key.replace("_", "-").lower(), value))
    return out


class ApiGateway:
    """HTTP -> payload-2.0 event -> Lambda handler -> HTTP, with the gateway-level faults."""

    def __init__(self, servers: "Servers", api: Api, stage: str = "prod") -> None:
        self.servers, self.api, self.stage = servers, api, stage

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        path, query = _raw_target(environ)
        try:
            _buffer_body(environ)
        except OSError:  # a client that sent half its body and stopped: the read timed out (or it hung up)
            status, headers, body = 408, [("Content-Type", "application/json")], \
                b'{"message":"Request Timeout"}'
        else:
            try:
                status, headers, body = self._respond(environ, method, path, query)
            except Exception:  # noqa: BLE001 - API Gateway answers for a crashed integration
                log.exception("sandbox API gateway failed on %s %s", method, path)
                status, headers, body = (500, [("Content-Type", "application/json")],
                                         b'{"message":"Internal Server Error"}')
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        self.servers.sandbox._record("api", method, path, status, started, time.monotonic())
        return [body]

    def _respond(self, environ: Dict[str, Any], method: str, path: str, query: str) -> Tuple[int, List, bytes]:
        faults = self.servers.sandbox._faults
        status, headers, data = self._answer(environ, method, path, query, faults)
        if status >= 400 and "echo-auth" in faults:
            data = _echo_authorization(data, str(environ.get("HTTP_AUTHORIZATION") or ""))
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "application/json"))
        return status, headers, data

    def _answer(self, environ: Dict[str, Any], method: str, path: str, query: str, faults: Any) -> Tuple[int, List, bytes]:
        servers = self.servers
        body = _read_body(environ)
        servers.delay(faults.latency_ms)
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
            result = self.api(event, _LambdaContext(event["requestContext"]["requestId"]))
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode("utf-8")
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        status = int(result.get("statusCode") or 500)
        if 200 <= status < 300:
            if faults.hits("huge-body", route):
                data = HUGE_BODY
            elif faults.hits("truncated-json", route):
                data = data[: max(1, len(data) // 2)]
        return status, headers, data


HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1>"
             b"<form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" "
             b"type=\"password\"></form></body></html>")
HUGE_BODY_SIZE = 10 * 1024 * 1024
HUGE_BODY = b'{"padding":"' + b"x" * (HUGE_BODY_SIZE - len(b'{"padding":""}')) + b'"}'


def route_of(path: str, stage: str = "prod") -> Optional[str]:
    """``/prod/api/v1/metrics/a/b`` -> ``/metrics``; None when the path is outside the API."""
    segments = [seg for seg in path.split("/") if seg]
    if stage and segments[:1] == [stage]:
        segments = segments[1:]
    if segments[:2] != ["api", "v1"] or len(segments) < 3:
        return None
    return "/" + segments[2]


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


# --------------------------------------------------------------------------- the whole sandbox


class Servers:
    """The running parts of a Sandbox: three listeners, the moto app and the Lambda."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sandbox = sandbox
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._cold_pending = True
        self._rng = random.Random(sandbox.seed)
        self.internal: Optional[Listener] = None
        self.public_s3: Optional[Listener] = None
        self.api_listener: Optional[Listener] = None
        self.api: Optional[Api] = None
        self.s3: Any = None

    # ---- faults at request time

    def delay(self, ms: float) -> None:
        if ms > 0:
            self._stopping.wait(ms / 1000.0)

    def flaky_hit(self, pct: float) -> bool:
        if pct <= 0:
            return False
        with self._lock:
            return self._rng.random() * 100.0 < pct

    def cold_start(self, ms: float) -> None:
        with self._lock:
            pending, self._cold_pending = self._cold_pending, False
        if pending:
            self.delay(ms)

    def hang(self, route: Optional[str]) -> None:
        """The hang fault: hold the request until the sandbox stops (or the fault is removed)."""
        while not self._stopping.wait(0.05):
            if not self.sandbox._faults.hits("hang", route):
                return

    def faults_changed(self) -> None:
        with self._lock:
            self._cold_pending = True
        if self.api is not None:
            self.api.config.faults = self.sandbox._faults

    # ---- lifecycle

    def start(self) -> None:
        sb = self.sandbox
        try:
            moto_app = SerializedWrites(DomainDispatcherApplication(create_backend_app))
            self.internal = Listener("s3-internal", sb.host, 0, moto_app, _S3RequestHandler)
            self.internal.start()
            self.s3 = self.make_client(self.internal.url)
            self._create_bucket()
            config = ApiConfig(bucket=sb.bucket, token=sb.token, use_bearer_auth=True, faults=sb._faults, s3=self.s3)
            self.api = Api(config)
            self.public_s3 = Listener("s3-public", sb.host, 0, PublicS3(self, moto_app), _S3RequestHandler)
            self.public_s3.start()
            self.api_listener = Listener("api", sb.host, sb.port, ApiGateway(self, self.api), _ApiRequestHandler,
                                         read_timeout=sb.read_timeout)
            self.api_listener.start()
        except BaseException:
            self.stop()
            raise

    def make_client(self, endpoint_url: str) -> Any:
        from botocore.config import Config

        config = Config(s3={"addressing_style": "path"}, max_pool_connections=50, connect_timeout=5,
                        read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
        with _session_lock:
            return _boto_session().client(
                "s3", endpoint_url=endpoint_url, region_name=self.sandbox.region, config=config,
                aws_access_key_id=self.sandbox.access_key_id,
                aws_secret_access_key=self.sandbox.secret_access_key)

    def _create_bucket(self) -> None:
        from botocore.exceptions import ClientError

        kwargs: Dict[str, Any] = {"Bucket": self.sandbox.bucket}
        if self.sandbox.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.sandbox.region}
        try:
            self.s3.create_bucket(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def make_unreachable(self, which: str) -> None:
        if which == "s3":
            listener = self.public_s3
        elif which == "api":
            listener = self.api_listener
        else:
            raise ValueError(f"make_unreachable: expected 's3' or 'api', got {which!r}")
        if listener is not None:
            listener.stop()

    def stop(self) -> None:
        self._stopping.set()  # interrupts latency / cold-start sleeps
        for listener in (self.api_listener, self.public_s3, self.internal):
            if listener is not None:
                listener.stop()
        if self.s3 is not None:
            try:
                self.s3.close()
            except Exception:  # noqa: BLE001
                pass
