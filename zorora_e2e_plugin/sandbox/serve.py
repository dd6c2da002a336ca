"""``zorora-e2e sandbox``: start a Sandbox, print its environment as export lines, block until Ctrl-C/SIGTERM."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
from typing import Any, Dict, Optional, TextIO

from .listen import SandboxError


def serve_forever(sandbox: Any, out: TextIO = sys.stdout, log_requests: bool = False,
                  env_file: Optional[str] = None) -> int:
    """Start the sandbox, print ``export`` lines for its environment, block until Ctrl-C/SIGTERM.
    `log_requests`: then one line per API request (requestlog.py; never the token). `env_file`: the export
    lines also in that file (0600, removed when the sandbox stops: envfile.py).

    Also returns when another thread stops the sandbox. Signal handlers are installed (and
    restored afterwards) only when called from the main thread.
    """
    stop = threading.Event()
    previous: Dict[int, Any] = {}
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is not None:
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
    written = None
    try:
        sandbox.start()
        if env_file:
            from .envfile import EnvFile

            written = EnvFile(env_file)
            try:
                written.write(sandbox.env(), f"zorora-e2e sandbox at {sandbox.api_url}; removed when it stops")
            except OSError as exc:
                raise SandboxError(f"--env-file {env_file}: cannot write it ({exc.strerror or exc})") from None
        printer = None
        if log_requests:
            from .requestlog import HEADER, RequestLogPrinter

            printer = RequestLogPrinter(out, [sandbox.token], header=HEADER)
        # The log listens before the exports are out (a client may send its first request as soon as it has
        # read them), and its lines wait for the exports and notes: they share the printer's lock.
        with printer.lock if printer else contextlib.nullcontext():
            if printer:
                sandbox.request_listeners.append(printer)
            from .no_proxy import loopback_no_proxy

            for name, value in {**sandbox.env(), **loopback_no_proxy()}.items():
                print(f"export {name}={shlex.quote(value)}", file=out)
            faults = ", ".join(str(f) for f in sandbox.faults) or "none"
            print(f"# ONA sandbox API at {sandbox.api_url} (S3 at {sandbox.s3_endpoint_url}; faults: {faults})",
                  file=out)
            if written:
                print(f"# also in {written.path} (0600, removed when the sandbox stops): . {shlex.quote(written.path)}",
                      file=out)
            print("# Ctrl-C to stop", file=out)
            if printer:
                print("# one line per API request follows (the token is never shown)", file=out)
            out.flush()
        try:
            while sandbox.running and not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        sandbox.stop()
        if written:
            written.remove()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
