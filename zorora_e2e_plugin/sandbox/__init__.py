"""Local ONA platform sandbox: the globalTrainingService API and S3 on loopback.

    with Sandbox(faults=["latency:50"]) as sb:
        os.environ.update(sb.env())        # ONA_API_BASE_URL, ONA_API_TOKEN, AWS_ENDPOINT_URL_S3, ...
        ...

Importing this package is cheap: moto, werkzeug and botocore are imported by ``Sandbox.start()``.

Modules, as moto splits models from responses (rules on S3 state below, a thin HTTP/event layer above):

    state.py, archive.py, registry.py, rules.py   the platform's rules on S3 state, no HTTP (rules.Platform)
    api.py                                         the Lambda handler: payload-2.0 event -> rules -> answer
    faults.py                                      fault names and their parsing, no I/O
    requestlog.py                                  the request log as lines (--log-requests; never the token)
    wsgi.py, gateway.py, moto_s3.py, server.py     the loopback listeners: API Gateway, moto S3, start/stop
    __init__.py                                    ``Sandbox`` (settings, addresses, faults, request log), and
                                                   ``zorora-e2e sandbox``: serve_forever, export lines
    listen.py, record.py                           Listen, SandboxError; RequestRecord (one logged request)
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Callable, TextIO

from .faults import FAULT_HELP, FAULT_USAGE, Fault, FaultSet, parse_fault
from .listen import READ_TIMEOUT, Listen, SandboxError  # noqa: F401  (READ_TIMEOUT: importable from here, as before)
from .record import RequestRecord

# S3's bucket-name rule and AWS's region-name shape, the same as settings.py's: the sandbox imports
# nothing from the validator.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


DEFAULT_LISTEN = Listen()  # frozen: shared by every Sandbox that names no address


class Sandbox:
    """A local ONA platform: API (API Gateway + Lambda) and S3 on loopback."""

    access_key_id = "sandbox"
    secret_access_key = "sandbox"

    def __init__(
        self,
        *,
        token: str | None = None,
        bucket: str = "sa-api-client-output",
        region: str = "af-south-1",
        faults: Iterable[str | Fault] = (),
        seed: int | None = None,
        versioned: bool = False,
        listen: Listen = DEFAULT_LISTEN,
    ) -> None:
        host, port, read_timeout = listen.host, listen.port, listen.read_timeout
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise SandboxError(f"--port must be between 0 and 65535 (0: any free port), got {port!r}")
        if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket):
            raise SandboxError(
                f"{bucket!r} is not a valid S3 bucket name (3-63 characters: lower-case letters, digits, '.' and '-')"
            )
        if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
            raise SandboxError(f"{region!r} is not an AWS region name (e.g. af-south-1)")
        if not isinstance(host, str) or not host.strip():
            raise SandboxError("--host must be an address to listen on, e.g. 127.0.0.1")
        if not read_timeout > 0:
            raise SandboxError(f"read_timeout must be a positive number of seconds, got {read_timeout!r}")
        self.host = host
        self.port = port
        self.read_timeout = float(read_timeout)
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.bucket = bucket
        self.region = region
        self.seed = seed
        self.versioned = bool(versioned)  # the bucket keeps object versions (as many production buckets do)
        self._faults = FaultSet(faults)
        self.request_log: list[RequestRecord] = []
        self.request_listeners: list[Callable[[RequestRecord], None]] = []  # e.g. --log-requests
        self._log_lock = threading.Lock()
        self._servers: Any = None
        self._api_url: str | None = None
        self._s3_url: str | None = None
        self._internal_url: str | None = None
        self._cloudwatch_url: str | None = None
        self._test_client: Any = None
        self.s3_models: Any = None  # a botocore loader for the sandbox's S3 clients (see start())

    # ------------------------------------------------------------------ lifecycle

    def start(self, s3_models: Any = None) -> Sandbox:
        """Listen and serve. `s3_models`: a botocore loader the sandbox's own S3 clients read S3's models from;
        pass the one your own clients use (the validator passes its own) and the models are read and parsed once
        per process instead of once per side. Returns self (so ``with Sandbox().start(s3_models=...)`` works)."""
        if self._servers is not None:
            return self
        from .server import Servers  # moto, werkzeug, botocore are imported here, not at package import

        if s3_models is not None:
            self.s3_models = s3_models
        servers = Servers(self)
        try:
            servers.start()
        except OSError as exc:  # busy port, an address this machine does not have, a name that does not resolve
            from .listen import listen_error

            raise SandboxError(listen_error(self.host, self.port, exc)) from None
        self._servers = servers
        host = f"[{self.host}]" if ":" in self.host else self.host
        api, public, cloudwatch = servers.api_listener, servers.public_s3, servers.cloudwatch
        internal = servers.internal
        assert api and public and internal and cloudwatch  # Servers.start() started every one, or raised
        self._api_url = f"http://{host}:{api.port}/prod/api/v1"
        self._s3_url = public.url
        self._internal_url = internal.url
        self._cloudwatch_url = cloudwatch.url
        return self

    def stop(self) -> None:
        servers, self._servers = self._servers, None
        client, self._test_client = self._test_client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
        if servers is not None:
            servers.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._servers is not None

    # ------------------------------------------------------------------ addresses

    def _need(self, value: str | None) -> str:
        if value is None:
            raise RuntimeError("the sandbox is not started: call start() or use it as a context manager")
        return value

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>/prod/api/v1``."""
        return self._need(self._api_url)

    @property
    def s3_endpoint_url(self) -> str:
        """The public (client-facing) S3 endpoint."""
        return self._need(self._s3_url)

    @property
    def internal_s3_endpoint_url(self) -> str:
        """The S3 endpoint the sandbox's own API uses (no faults)."""
        return self._need(self._internal_url)

    @property
    def cloudwatch_endpoint_url(self) -> str:
        """moto's CloudWatch, for a run's --metrics cloudwatch (its requests are in the request log too)."""
        return self._need(self._cloudwatch_url)

    def env(self) -> dict[str, str]:
        """Environment for a client (the validator, Zorora) pointed at this sandbox."""
        return {
            "ONA_API_BASE_URL": self.api_url,
            "ONA_API_TOKEN": self.token,
            "OUTPUT_BUCKET": self.bucket,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH": self.cloudwatch_endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def s3_client(self) -> Any:
        """A boto3 S3 client on the internal endpoint (no faults) to inspect or seed state."""
        if self._servers is None:
            raise RuntimeError("the sandbox is not started")
        if self._test_client is None:
            self._test_client = self._servers.make_client(self.internal_s3_endpoint_url)
        return self._test_client

    def seed_customer(self, spec: str) -> Any:
        """Seed a customer for the readiness check: ``"acme"``, ``"acme:stale"`` (seeding.py); ValueError on a bad
        spec."""
        from .seeding import seed_customer

        return seed_customer(self.s3_client(), self.bucket, spec)

    # ------------------------------------------------------------------ faults

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self._faults.faults

    def set_faults(self, faults: Iterable[str | Fault]) -> None:
        """Replace the active faults (ValueError, and nothing changes, on a bad one).

        A cold-start fault applies again to the next API request."""
        self._faults = FaultSet(faults)
        if self._servers is not None:
            self._servers.faults_changed()

    def make_unreachable(self, which: str) -> None:
        """Close the public "s3" or "api" listener: new connections are refused from now on."""
        if which not in ("s3", "api"):
            raise ValueError(f"make_unreachable: expected 's3' or 'api', got {which!r}")
        if self._servers is not None:
            self._servers.make_unreachable(which)

    # ------------------------------------------------------------------ request log

    def _record(self, record: RequestRecord) -> None:
        """Log one client-facing request (its clock time filled in from its start) and tell the listeners."""
        if not record.at:
            record = replace(record, at=time.time() - (time.monotonic() - record.started))
        with self._log_lock:
            self.request_log.append(record)
        for listener in list(self.request_listeners):  # e.g. --log-requests; never the request's undoing
            try:
                listener(record)
            except Exception:
                pass

    def __repr__(self) -> str:
        state = f"api={self._api_url} s3={self._s3_url}" if self.running else "stopped"
        return f"<Sandbox {state} faults={[str(f) for f in self.faults]}>"


def serve_forever(
    sandbox: Any, out: TextIO = sys.stdout, log_requests: bool = False, env_file: str | None = None
) -> int:
    """Start the sandbox, print ``export`` lines for its environment, block until Ctrl-C/SIGTERM.
    `log_requests`: then one line per API request (requestlog.py; never the token). `env_file`: the export
    lines also in that file (a new file, 0600, removed when the sandbox stops; an existing path is refused:
    envfile.py).

    Also returns when another thread stops the sandbox. Signal handlers are installed (and
    restored afterwards) only when called from the main thread, and never for a signal the process
    inherited as ignored.
    """
    stop = threading.Event()
    previous: dict[int, Any] = {}
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            # an inherited "ignore" stays (a sandbox started with `&` from a script ignores SIGINT: the Ctrl-C
            # meant for a run in the same terminal must not stop it mid-run), as a run keeps an ignored SIGHUP
            if sig is not None and signal.getsignal(sig) != signal.SIG_IGN:
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
    written = None
    try:
        if env_file:
            from .envfile import EnvFile

            target = EnvFile(env_file)
            if target.refusal():  # before the sandbox starts: only a new file is written (and removed at stop)
                raise SandboxError(f"--env-file {target.refusal()}")
        sandbox.start()
        if env_file:
            try:
                target.write(sandbox.env(), sandbox.api_url)
            except FileExistsError:  # created since the check
                raise SandboxError(f"--env-file {target.refusal()}") from None
            except OSError as exc:
                raise SandboxError(f"--env-file {env_file}: cannot write it ({exc.strerror or exc})") from None
            written = target
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
            print(
                f"# ONA sandbox API at {sandbox.api_url} (S3 at {sandbox.s3_endpoint_url}; faults: {faults})", file=out
            )
            if written:
                print(
                    f"# also in {written.path} (0600, removed when the sandbox stops): . {shlex.quote(written.path)}",
                    file=out,
                )
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


__all__ = [
    "FAULT_HELP",
    "FAULT_USAGE",
    "Fault",
    "Listen",
    "RequestRecord",
    "Sandbox",
    "SandboxError",
    "parse_fault",
    "serve_forever",
]
