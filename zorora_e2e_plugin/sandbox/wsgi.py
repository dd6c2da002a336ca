"""Werkzeug plumbing shared by the sandbox's listeners: a threaded server that stop() can drain, quiet
request handlers, the WSGI helpers (request body, raw target, status line) both fronts use, and
``Running``: what the fronts need of ``server.Servers``, so that they do not import it.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from http import HTTPStatus
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

from werkzeug.serving import ThreadedWSGIServer


class Running(Protocol):
    """The running sandbox as the fronts (``gateway.ApiGateway``, ``moto_s3.PublicS3``) see it: the
    ``Sandbox`` (its faults and request log) and the request-time faults; ``server.Servers`` is one."""

    sandbox: Any

    def delay(self, ms: float) -> None: ...

    def flaky_hit(self, pct: float) -> bool: ...

    def cold_start(self, ms: float) -> None: ...

    def hang(self, route: str | None) -> None: ...


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

    def __init__(
        self, name: str, host: str, port: int, app: Callable, handler: type, read_timeout: float | None = None
    ) -> None:
        if read_timeout is not None:  # each socket read of a request (line, headers, body) waits at most this
            handler = type(handler.__name__, (handler,), {"timeout": read_timeout})
        self.name, self.host, self.requested_port, self.app, self.handler = name, host, port, app, handler
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None
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


def _read_body(environ: dict[str, Any]) -> bytes:
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


def _buffer_body(environ: dict[str, Any]) -> bytes:
    body = _read_body(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _raw_target(environ: dict[str, Any]) -> tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/"
    parts = urlsplit(raw)
    path = parts.path if (parts.scheme or not raw.startswith("//")) else raw.split("?", 1)[0]
    return path or "/", parts.query


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"
