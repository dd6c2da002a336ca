"""The sandbox's S3: moto's S3 backend behind two listeners, through our own small WSGI front.

* **s3-internal** — for the sandbox's Lambda (and ``Sandbox.s3_client()``): no faults, as Lambda -> S3
  is in-region in reality.
* **s3-public** — for clients (the validator): every request is recorded and the latency fault applies;
  ``Sandbox.make_unreachable("s3")`` closes it.

moto's backends are process-global, so both serve the same buckets. Every mutating S3 request is
serialized with one process-wide lock, because moto's conditional writes (If-Match / If-None-Match)
check and then write without atomicity; with the lock the guarantee the rules rely on is real.

``MotoS3`` stands in for moto's server mode (``moto.moto_server.werkzeug_app``), which builds a flask
app per service (with flask-cors) and imports both at its top: the sandbox serves S3, so it routes
with moto's own ``moto.s3.urls.url_paths`` and calls the handler as moto's
``moto.core.utils.convert_to_flask_response`` does (a request signed for another service goes to
that service's moto handlers, as before). Not served: moto's ``/moto-api``, CORS headers and
preflights, moto's request recorder.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from re import Pattern
from typing import Any, Callable

from botocore.exceptions import ClientError
from moto.s3.urls import url_paths
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response

from .record import RequestRecord
from .s3_faults import CLOCK_KEY, _is_version_delete, deleted_keys
from .wsgi import Running, _buffer_body, _QuietMixin, _raw_target

try:  # moto >= 5.2; later 5.2.x: its own Request (raw_url, from_wsgi_server), metadata names with "_" kept
    from moto.core import request as _moto_request
except ImportError:  # pragma: no cover - older moto: handlers get a werkzeug Request and its url
    _moto_request = None  # type: ignore[assignment]  # None: this moto has no request module

if _moto_request is not None and hasattr(_moto_request.Request, "from_wsgi_server"):

    class _S3Request(_moto_request.Request):
        """As moto's server mode hands it over: moto then leaves the Date header to werkzeug."""

        from_wsgi_server = True

else:  # pragma: no cover - older moto reads server mode from "werkzeug" in the request's type name
    _S3Request = _WerkzeugRequest  # type: ignore[misc, assignment]  # the same name, the other class

_PRESERVE = None  # the environ key moto reads original header names from, where it has one
if all(
    hasattr(_moto_request, name)
    for name in ("PRESERVED_HEADER_NAMES_ENVIRON_KEY", "environ_key_for_header", "should_preserve_original_header_name")
):
    _PRESERVE = _moto_request.PRESERVED_HEADER_NAMES_ENVIRON_KEY


class _S3RequestHandler(_QuietMixin, WSGIRequestHandler):
    """Werkzeug's handler, keeping S3 metadata headers whose names contain underscores where moto can
    read them back (what moto's ``MotoRequestHandler`` does; werkzeug >= 2.1 drops such headers)."""

    def date_time_string(self, timestamp: Any = None) -> str:
        """The Date header, on S3's clock (the s3-clock fault moves it)."""
        shift = float((getattr(self, "environ", None) or {}).get(CLOCK_KEY) or 0.0)
        return super().date_time_string((time.time() if timestamp is None else timestamp) + shift)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if _PRESERVE is None:  # pragma: no cover - moto without it reports dashes for underscores anyway
            return environ
        key_for = _moto_request.environ_key_for_header
        preserve = _moto_request.should_preserve_original_header_name
        dashed = {key_for(name) for name in self.headers.keys() if "_" not in name}
        names: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            key = key_for(name)
            if not preserve(name) or key in dashed:  # an underscored header never stands in for a dashed one
                continue
            names.setdefault(key, name)
            values.setdefault(key, []).append(value.replace("\r\n", ""))
        for key, key_values in values.items():
            environ[key] = ",".join(key_values)
        environ[_PRESERVE] = names
        return environ


class _MotoResponse(Response):
    default_mimetype = "text/html"  # as flask's Response, which moto's server mode answered with


_Routes = list[tuple[Pattern[str], Callable[..., Any]]]
_SIGNED_FOR = re.compile(r"Credential=[^/,\s]*/[^/,\s]*/(?P<region>[^/,\s]*)/(?P<service>[^/,\s]+)/")


def _routes(paths: dict[str, Callable[..., Any]]) -> _Routes:
    """A moto urls module's ``url_paths`` ("{0}" is the URL base) as path regexes and their handlers."""
    return [(re.compile(pattern.format(""), re.DOTALL), handler) for pattern, handler in paths.items()]


class MotoS3:
    """moto's S3 as a WSGI app, path-style, routed with moto's url patterns; no flask.

    As moto's server mode did, a request SigV4-signed for another service goes to that moto backend
    (tests read ``--token-from-ssm``'s parameter through the internal endpoint); anything else is S3.
    """

    def __init__(self) -> None:
        self._routes: dict[str, _Routes] = {"s3": _routes(url_paths)}
        self._lock = threading.Lock()

    def routes_for(self, environ: dict[str, Any]) -> _Routes:
        signed = _SIGNED_FOR.search(environ.get("HTTP_AUTHORIZATION") or "")
        service = signed.group("service").lower() if signed else "s3"
        with self._lock:
            if service not in self._routes:
                self._routes[service] = self._other_service(service, signed.group("region") if signed else "")
            return self._routes[service]

    def _other_service(self, service: str, region: str) -> _Routes:
        from importlib import import_module

        from moto.backend_index import backend_url_patterns

        host = f"http://{service}.{region or 'us-east-1'}.amazonaws.com"  # how moto's server found the backend
        backend = next((name for name, pattern in backend_url_patterns if pattern.match(host)), None)
        try:
            return _routes(import_module(f"moto.{backend}.urls").url_paths) if backend else self._routes["s3"]
        except (ImportError, AttributeError):
            return self._routes["s3"]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = _S3Request(environ)
        try:
            response = self._respond(request)
        except HTTPException as exc:  # moto's S3 errors are werkzeug HTTPExceptions (flask answered with them)
            response = exc.get_response(environ)
        finally:
            request.close()
        return response(environ, start_response)

    def _respond(self, request: Any) -> Response:
        path, _query = _raw_target(request.environ)  # moto matches the encoded path, as it arrived
        routes = self.routes_for(request.environ)
        handler = next((handler for pattern, handler in routes if pattern.fullmatch(path)), None)
        if handler is None:
            return _MotoResponse(status=404)
        url = getattr(request, "raw_url", None) or request.url  # moto < 5.2 took the decoded url
        try:
            result = handler(request, url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        response = _MotoResponse(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:  # the object's size, not the empty body's
            response.headers["Content-Length"] = headers["content-length"]
        return response


_S3_WRITE_LOCK = threading.Lock()  # one moto backend per process, so one lock per process
_MUTATING = {"PUT", "POST", "DELETE"}


class SerializedWrites:
    """Runs every mutating S3 request under the process-wide lock (body read before locking)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
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


def _botocore_session(s3_models: Any = None) -> Any:
    """One botocore session per process for the sandbox's own S3 clients: a new one reloads every service
    model from disk (~900 listdirs), which a REPL with busy background threads feels. `s3_models`: a botocore
    loader to read S3's models from, given by whoever runs the sandbox beside its own S3 clients (the
    validator's: S3's models are then read and parsed once per process, not once per side). botocore, not
    boto3: moto imports boto3 anyway, but a boto3 session adds nothing the sandbox uses. Not thread-safe: use
    under _session_lock."""
    global _session
    import botocore.session

    if _session is None:
        _session = botocore.session.get_session()
    if s3_models is not None and _session.get_component("data_loader") is not s3_models:
        _session.register_component("data_loader", s3_models)
    return _session


class PublicS3:
    """Client-facing S3: records each request and applies the latency fault."""

    def __init__(self, servers: Running, app: Callable) -> None:
        self.servers, self.app = servers, app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        self.servers.delay(self.servers.sandbox._faults.latency_ms)
        seen: dict[str, int] = {}

        def recording_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        keys = deleted_keys(environ, self.servers.sandbox.bucket)  # on the wire: what each delete named
        versions = bool(keys) and _is_version_delete(environ)
        result = self.app(environ, recording_start_response)
        path, query = _raw_target(environ)
        self.servers.sandbox._record(
            RequestRecord(
                "s3",
                environ.get("REQUEST_METHOD", ""),
                path,
                seen.get("status", 0),
                started,
                time.monotonic(),
                query=query,
                keys=tuple(keys),
                versions=versions,
            )
        )
        return result
