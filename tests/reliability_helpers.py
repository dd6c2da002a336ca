"""Shared by tests/test_reliability_*.py: the installed CLI in a subprocess, S3 inspection through the
sandbox's fault-free endpoint, a loopback-only network guard, and the figures the README quotes.

Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import ipaddress
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Dict, Iterable, List, Optional

from zorora_e2e_plugin.core.steps import Reporter

SCRIPT = os.path.join(os.path.dirname(sys.executable), "zorora-e2e")
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith(("ONA_", "AWS_", "TEST_", "OUTPUT_BUCKET", "ZORORA_", "FORCE_COLOR", "NO_COLOR"))}
# boto3 must never look beyond loopback for credentials (instance metadata is 169.254.169.254).
CLEAN_ENV["ZORORA_E2E_HISTORY"] = os.environ.get("ZORORA_E2E_HISTORY", "0")  # no run history from the suite
CLEAN_ENV.update(AWS_EC2_METADATA_DISABLED="true", AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                 AWS_CONFIG_FILE=os.devnull)
PREFIX_TOPS = ("customer_tailored/", "model_metrics/", "audit_logs/")
STEP_LINE = re.compile(r"^\s+[✓✗⚠⏭] (\d\.\d)\s")


def customer(tag: str) -> str:
    return f"zorora-e2e-test-{tag}-{uuid.uuid4().hex[:8]}"


def cli(*args: str, env: Optional[Dict[str, str]] = None, timeout: float = 120, guard: bool = False,
        base_env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """`zorora-e2e ARGS` as a user runs it. guard=True runs it under the loopback-only network guard."""
    command = [sys.executable, "-c", GUARD_MAIN, *args] if guard else [SCRIPT, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**(CLEAN_ENV if base_env is None else base_env), **(env or {})},
                          stdin=subprocess.DEVNULL)


# ----------------------------------------------------------------------------- S3 state

def bucket_keys(sandbox, prefix: str = "") -> List[str]:
    s3 = sandbox.s3_client()
    keys: List[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", ()))
    return sorted(keys)


def customer_keys(sandbox, customer_id: str) -> List[str]:
    """Everything under the customer's three prefixes (what a run may write)."""
    return sorted(k for top in PREFIX_TOPS for k in bucket_keys(sandbox, f"{top}{customer_id}/"))


def put(sandbox, key: str, body: bytes = b"{}") -> None:
    sandbox.s3_client().put_object(Bucket=sandbox.bucket, Key=key, Body=body)


def read(sandbox, key: str) -> bytes:
    return sandbox.s3_client().get_object(Bucket=sandbox.bucket, Key=key)["Body"].read()


def empty_bucket(sandbox) -> None:
    keys = bucket_keys(sandbox)
    for start in range(0, len(keys), 1000):
        sandbox.s3_client().delete_objects(Bucket=sandbox.bucket, Delete={
            "Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})


# ----------------------------------------------------------------------------- figures

FIGURES: "collections.Counter[str]" = collections.Counter()
_LABELS = {
    "faults": "faults and fault combinations tried",
    "unreachable": "S3/API made unreachable after a phase",
    "interrupts": "SIGINT points tried (step boundaries + mid-request)",
    "kills": "SIGKILL runs swept clean",
    "signals": "SIGTERM/SIGHUP points and late SIGINTs sent",
    "pipes": "closed-stdout cases (reader gone at start, mid-run, before the verdict)",
    "slow_cleanup": "cleanups that could not prove the prefixes empty (slow or refusing S3, a request still in flight)",
    "redirects": "preflight redirects to another host",
    "parallel": "validations run in parallel",
    "secrets": "secret-leak scenarios checked",
    "secret_forms": "secret forms checked (odd tokens, echoed; URL, SSM and endpoint secrets)",
    "header_values": "header-value cases judged at settings time",
    "report_paths": "unwritable report paths refused",
    "sandbox_input": "bad sandbox flags and requests answered",
    "bad_settings": "bad settings refused",
    "sweep_lookalikes": "look-alike keys seeded for sweep",
    "runs_checked": "runs whose prefixes were checked afterwards",
    "leftover": "leftover objects found",
}
_registered = threading.Lock()


class _FiguresPlugin:
    def pytest_terminal_summary(self, terminalreporter):
        if not FIGURES:
            return
        terminalreporter.section("Reliability figures")
        for key, label in _LABELS.items():
            if key in FIGURES or key == "leftover":
                terminalreporter.write_line(f"{label}: {FIGURES[key]}")


def count(kind: str, n: int = 1) -> None:
    FIGURES[kind] += n


def leftover_check(keys: Iterable[str]) -> List[str]:
    """Count a finished run's leftovers (the tests assert they are none)."""
    keys = list(keys)
    FIGURES["runs_checked"] += 1
    FIGURES["leftover"] += len(keys)
    return keys


def register_figures(config) -> None:
    with _registered:
        if not config.pluginmanager.has_plugin("zorora-e2e-reliability-figures"):
            config.pluginmanager.register(_FiguresPlugin(), "zorora-e2e-reliability-figures")


@contextlib.contextmanager
def module_sandbox(config, **sandbox_args):
    """A reliability module's sandbox: the figures registered, and at its end nothing left in its bucket by any
    run of the module."""
    from zorora_e2e_plugin.sandbox import Sandbox

    register_figures(config)
    with Sandbox(**sandbox_args) as sb:
        yield sb
        assert leftover_check(bucket_keys(sb)) == []


# ----------------------------------------------------------------------------- loopback-only guard

#: Runs the CLI with a network guard: any name lookup other than loopback addresses and `*.invalid`
#: (RFC 6761: never resolves) and any connection to a non-loopback address fail, and are reported on
#: stderr as "LOOPBACK-GUARD: ..." so a test can assert that nothing tried to leave the machine.
#: `*.invalid` fails the way a typo'd host does (socket.gaierror EAI_NONAME) without a DNS query.
GUARD_MAIN = r'''
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
'''


# ----------------------------------------------------------------------------- a TLS server nobody trusts

class SelfSignedServer:
    """HTTPS on 127.0.0.1 with a freshly made self-signed certificate: any client that verifies fails."""

    def __init__(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .sign(key, hashes.SHA256()))
        self._dir = tempfile.TemporaryDirectory()
        cert_path, key_path = os.path.join(self._dir.name, "c.pem"), os.path.join(self._dir.name, "k.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.requests = 0

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # only reached by a client that does not verify certificates
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        class Server(HTTPServer):
            def handle_error(self, request, client_address):
                pass  # the client aborting the handshake is the point

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/prod/api/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()


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


def run_and_signal(env: Dict[str, str], args: List[str], after: str, delay: float = 0.0,
                   sig: int = signal.SIGINT, timeout: float = 90) -> Dict:
    """Start `zorora-e2e ARGS`, send `sig` `delay` seconds after the line of step `after` (or, for
    "start", the "Phase 0" heading) appears. Returns exit code, output, and whether the signal was sent
    while the run was still going."""
    proc = subprocess.Popen([SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**CLEAN_ENV, **env}, stdin=subprocess.DEVNULL, encoding="utf-8")
    lines: List[str] = []
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
    return {"code": proc.returncode, "stdout": "".join(lines) + stdout_rest, "stderr": stderr,
            "sent": sent_while_running}


class HangFrom(Reporter):
    """The server starts hanging on `route` when phase `phase` starts (the preflight probes every route)."""

    def __init__(self, sandbox, route, phase):
        self.sandbox, self.route, self.phase = sandbox, route, phase
        self.since: Optional[float] = None  # time.monotonic() when the hanging began (the request log's clock)

    def phase_started(self, phase):
        if phase.id == self.phase:
            self.since = time.monotonic()
            self.sandbox.set_faults([f"hang:{self.route}"])


def read_exports(proc) -> Dict[str, str]:
    """The `export NAME=value` lines a `zorora-e2e sandbox` process prints on start, read from its stdout."""
    exports: Dict[str, str] = {}
    while "AWS_SECRET_ACCESS_KEY" not in exports:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        match = re.match(r"export (\w+)=(.*)", line.strip())
        if match:
            exports[match.group(1)] = match.group(2).strip("'\"")
    return exports
