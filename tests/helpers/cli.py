"""`zorora-e2e` as a user runs it: the installed console script in a subprocess (`cli`, `run_and_signal`, the
loopback-only network guard), or `main()` in this process for what ends before anything is sent (`cli_in_process`:
usage and settings errors). Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import signal
import subprocess
import sys
import threading

SCRIPT = os.path.join(os.path.dirname(sys.executable), "zorora-e2e")
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("ONA_", "AWS_", "TEST_", "OUTPUT_BUCKET", "ZORORA_", "FORCE_COLOR", "NO_COLOR"))
}
# boto3 must never look beyond loopback for credentials (instance metadata is 169.254.169.254).
CLEAN_ENV["ZORORA_E2E_HISTORY"] = os.environ.get("ZORORA_E2E_HISTORY", "0")  # no run history from the suite
CLEAN_ENV.update(AWS_EC2_METADATA_DISABLED="true", AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
STEP_LINE = re.compile(r"^\s+[✓✗⚠⏭] (\d\.\d)\s")


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    guard: bool = False,
    base_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`zorora-e2e ARGS` as a user runs it. guard=True runs it under the loopback-only network guard."""
    command = [sys.executable, "-c", GUARD_MAIN, *args] if guard else [SCRIPT, *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(CLEAN_ENV if base_env is None else base_env), **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def cli_in_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`zorora-e2e ARGS` through `cli.main()` in this process, with the environment `cli` gives the subprocess:
    for a case that ends before anything is sent (a usage or settings error), where a process buys nothing.
    What main() changes in the process is put back: the environment, the signal handlers and the active guard a
    run installs, the cyclic collector a one-shot command switches off. Keep `cli` where the process matters
    (signals, the console script's exit code, closed streams, start-up cost)."""
    from zorora_e2e_plugin.cli import main
    from zorora_e2e_plugin.run import signals as run_signals

    saved_env = dict(os.environ)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    collecting = gc.isenabled()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update({**CLEAN_ENV, **(env or {})})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors and --help
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        # main() installs a run's SignalGuard for run and demo and leaves it to the process's end: a later run in
        # this process (a REPL test's) would take that stale guard for its own and get no handler at all
        guard = run_signals._active
        if guard is not None:
            guard.restore()
        os.environ.clear()
        os.environ.update(saved_env)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if collecting:
            gc.enable()
    return subprocess.CompletedProcess(["zorora-e2e", *args], code, out.getvalue(), err.getvalue())


# ----------------------------------------------------------------------------- loopback-only guard

#: Runs the CLI with a network guard: any name lookup other than loopback addresses and `*.invalid`
#: (RFC 6761: never resolves) and any connection to a non-loopback address fail, and are reported on
#: stderr as "LOOPBACK-GUARD: ..." so a test can assert that nothing tried to leave the machine.
#: `*.invalid` fails the way a typo'd host does (socket.gaierror EAI_NONAME) without a DNS query.
GUARD_MAIN = r"""
import ipaddress, socket, sys
_real_getaddrinfo, _real_connect, _real_connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex
def _loopback(host):
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False
def getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if _loopback(name):
        return _real_getaddrinfo(host, *args, **kwargs)
    if not str(name).rstrip(".").endswith(".invalid"):
        sys.stderr.write("LOOPBACK-GUARD: refused lookup of %r\n" % (name,))
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
def _check(address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        sys.stderr.write("LOOPBACK-GUARD: refused connect to %r\n" % (address,))
        raise ConnectionRefusedError(111, "loopback-only guard")
def connect(self, address):
    _check(address)
    return _real_connect(self, address)
def connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)
socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = getaddrinfo, connect, connect_ex
from zorora_e2e_plugin.cli import main
sys.exit(main(sys.argv[1:]))
"""


# ----------------------------------------------------------------------------- a run you can interrupt


@contextlib.contextmanager
def sigint_reaches_children():
    """Children inherit an *ignored* SIGINT (e.g. pytest started with `&` from a script) and Python then
    never raises KeyboardInterrupt. A handled SIGINT is reset to the default in the child at exec."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_cli(env: dict[str, str], args: list[str], **popen) -> subprocess.Popen:
    """`zorora-e2e ARGS` as CI starts it (the clean environment plus `env`, no stdin), its output read as text line
    by line; `popen`: what a test adds (a preexec_fn)."""
    return subprocess.Popen(
        [SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**CLEAN_ENV, **env},
        stdin=subprocess.DEVNULL,
        encoding="utf-8",
        **popen,
    )


def run_and_signal(
    env: dict[str, str], args: list[str], after: str, delay: float = 0.0, sig: int = signal.SIGINT, timeout: float = 90
) -> dict:
    """Start `zorora-e2e ARGS`, send `sig` `delay` seconds after the line of step `after` (or, for
    "start", the "Phase 0" heading) appears. Returns exit code, output, and whether the signal was sent
    while the run was still going."""
    proc = start_cli(env, args)
    lines: list[str] = []
    sent_while_running = False
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in iter(proc.stdout.readline, ""):
            lines.append(line)
            if sent_while_running:
                continue
            match = STEP_LINE.match(line)
            hit = line.startswith("Phase 0") if after == "start" else bool(match and match.group(1) == after)
            if hit:
                if delay:
                    threading.Event().wait(delay)
                if proc.poll() is None:
                    proc.send_signal(sig)
                    sent_while_running = True
        stdout_rest, stderr = proc.communicate()
    finally:
        timer.cancel()
    return {
        "code": proc.returncode,
        "stdout": "".join(lines) + stdout_rest,
        "stderr": stderr,
        "sent": sent_while_running,
    }


def read_exports(proc) -> dict[str, str]:
    """The `export NAME=value` lines a `zorora-e2e sandbox` process prints on start, read from its stdout."""
    exports: dict[str, str] = {}
    while "AWS_SECRET_ACCESS_KEY" not in exports:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        match = re.match(r"export (\w+)=(.*)", line.strip())
        if match:
            exports[match.group(1)] = match.group(2).strip("'\"")
    return exports
