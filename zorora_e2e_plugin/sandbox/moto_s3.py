"""The sandbox's S3: moto's server mode behind two listeners on one in-process backend.

* **s3-internal** — for the sandbox's Lambda (and ``Sandbox.s3_client()``): no faults, as Lambda -> S3
  is in-region in reality.
* **s3-public** — for clients (the validator): every request is recorded and the latency fault applies;
  ``Sandbox.make_unreachable("s3")`` closes it.

moto's backends are process-global, so both serve the same buckets. Every mutating S3 request is
serialized with one process-wide lock, because moto's conditional writes (If-Match / If-None-Match)
check and then write without atomicity; with the lock the guarantee the rules rely on is real.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Tuple

from werkzeug.serving import WSGIRequestHandler

try:  # moto >= 5.1: keeps S3 metadata headers that contain underscores
    from moto.moto_server.werkzeug_app import MotoRequestHandler
except ImportError:  # pragma: no cover - older moto
    MotoRequestHandler = WSGIRequestHandler

from .wsgi import Running, _buffer_body, _QuietMixin, _raw_target

_S3_WRITE_LOCK = threading.Lock()  # one moto backend per process, so one lock per process
_MUTATING = {"PUT", "POST", "DELETE"}


class _S3RequestHandler(_QuietMixin, MotoRequestHandler):
    pass


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

    def __init__(self, servers: Running, app: Callable) -> None:
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
