"""Where the sandbox listens, and the one-line message when it cannot."""

from __future__ import annotations

from dataclasses import dataclass

READ_TIMEOUT = 30.0  # seconds a client may take to send a request (API Gateway cuts slow clients off too)


class SandboxError(OSError):
    """The sandbox cannot start with these settings; the message is one line saying what to change.
    (An OSError, as a failure to listen always was.)"""


@dataclass(frozen=True)
class Listen:
    """Where the sandbox's API listens, and how long a client may take to send a request."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    read_timeout: float = READ_TIMEOUT


def listen_error(host: str, port: int, exc: OSError) -> str:
    import errno
    import socket

    where = f"{host}:{port}" if port else host
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host!r}: not an address of this machine ({exc.strerror or exc}); use e.g. 127.0.0.1"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is already in use; choose another --port (or 0 for a free one)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: not an address of this machine; use e.g. 127.0.0.1"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges); choose another --port"
    return f"cannot listen on {where}: {exc.strerror or exc}"
