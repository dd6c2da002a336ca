"""How an ONA operation failed, classified once, by type, where the exception is caught: `OnaError.kind`
says what happened (no answer in time, a name that does not resolve, TLS, ...); `core/catalogue.for_error` turns
kind, status and body into the hint.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from ..core.outcomes import RUN_OVER

TIMEOUT = "timeout"  # no answer within --timeout
DNS = "dns"  # the host name does not resolve
TLS = "tls"  # the TLS handshake failed
CONNECT = "connect"  # no connection (refused, none made within --timeout, reset, the run's client closed)
TRANSPORT = "transport"  # another failure below HTTP (a broken body, an invalid URL, ...)
HTTP = "http"  # an HTTP answer that is an error (status set)
NOT_JSON = "not_json"  # a 2xx whose body is not JSON
NOT_OBJECT = "not_object"  # JSON, but not one object
CANCELLED = "cancelled"  # Zorora asked for confirmation instead of calling the API
REFUSED = "refused"  # the client's own checks refused the command, or its answer had another shape

NO_ANSWER = (TIMEOUT, DNS, TLS, CONNECT, TRANSPORT)  # nothing came back from the API
NOT_CONNECTED = (DNS, TLS, CONNECT)  # no connection was made (nothing was sent)


class OnaError(Exception):
    """An ONA operation failed. `status` is the HTTP status when one is known (0: no answer)."""

    def __init__(
        self, message: str, status: int | None = None, body: str = "", kind: str = "", headers: dict | None = None
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body  # the response body as sent (both clients), "" without one
        self.kind = kind or (HTTP if status else REFUSED)
        self.headers = dict(headers or {})  # the answer's headers, where the client saw them

    @property
    def from_gateway(self) -> bool:
        """API Gateway answered itself (its fixed body or x-amzn-ErrorType), not the Lambda."""
        from ..core.answers import from_gateway

        return from_gateway(self.status, self.body, self.headers)


class Cancelled(OnaError):
    """Zorora returned "... cancelled by user" instead of calling the API."""

    def __init__(self, message: str):
        super().__init__(message, kind=CANCELLED)


class EndsWithTheRun:
    """A client the run closes when it is over (`closed = True`, after the cleanup): a step the deadline
    abandoned sends nothing more. The one guard each client calls before it sends."""

    closed = False

    def refuse_after_the_run(self) -> None:
        if self.closed:
            raise OnaError(RUN_OVER, 0, kind=CONNECT)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and a wrapped first argument (requests wraps urllib3's)."""
    seen = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        if current.args and isinstance(current.args[0], BaseException):
            todo.append(current.args[0])


def transport_kind(exc: BaseException) -> str | None:
    """The kind of a requests transport failure found on `exc`'s chain, by type; None if there is none."""
    import requests

    for seen in _chain(exc):
        if isinstance(seen, requests.exceptions.ConnectTimeout):  # no TCP connection: never a cold start
            return CONNECT
        if isinstance(seen, requests.exceptions.Timeout):  # connected, then no answer in time
            return TIMEOUT
        if isinstance(seen, requests.exceptions.SSLError):
            return TLS
        if isinstance(seen, requests.exceptions.ConnectionError):
            return DNS if _resolves_not(seen) else CONNECT
        if isinstance(seen, requests.exceptions.RequestException):
            return TRANSPORT
    return None


def _resolves_not(exc: BaseException) -> bool:
    return any(
        isinstance(seen, socket.gaierror) or type(seen).__name__ == "NameResolutionError" for seen in _chain(exc)
    )


def reason(exc: BaseException) -> str:
    """The innermost message of a requests/urllib3 error, for display, not the whole retry chain."""
    import requests

    if any(isinstance(seen, requests.exceptions.ConnectTimeout) for seen in _chain(exc)):
        return "no TCP connection within --timeout (connect timeout)"
    text = str(exc)
    for marker in ("CERTIFICATE_VERIFY_FAILED", "Connection refused", "Connection reset", "timed out"):
        if marker in text:
            return marker
    return text
