"""However a run ends, nothing is left in S3 and nothing leaks (issue 9, items 1-6 and 14).

SIGTERM and SIGHUP at several points, a stdout closed early or late, Ctrl-C after the proof that the
prefixes are empty, a DeleteObjects that trickles its answer, a promote that hangs (never re-sent), the
process-wide environment (scoped once per run), and a redirect in the preflight. Real subprocesses and
signals, real loopback HTTP, a real moto S3 behind the sandbox, and a small loopback proxy in front of it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest
from helpers.cli import CLEAN_ENV, SCRIPT, STEP_LINE, cli, sigint_reaches_children, start_cli
from helpers.engine import STANDIN, STEPS
from helpers.figures import count, leftover_check
from helpers.results import bucket_keys, customer_keys
from helpers.sandbox import HangFrom, customer, module_sandbox
from helpers.wire import LoopbackServer, QuietHandler, forward

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASSED, SKIP
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.report.verdict_line import verdict_line
from zorora_e2e_plugin.run import cleanup
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox

LATENCY_MS = 150
NOISE = ("Traceback", "Exception ignored", "BrokenPipeError")


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, faults=[f"latency:{LATENCY_MS}"], bucket="zorora-e2e-rel-endings") as sb:
        yield sb


# ----------------------------------------------------------------------------- a run driven by its output


def _as_from_a_terminal() -> None:
    """The child starts as from an interactive shell: SIGHUP and SIGTERM at their defaults. A suite run under
    `nohup` (or by a CI runner that ignores SIGHUP) would otherwise hand it an ignored SIGHUP, which the run
    rightly leaves ignored (nohup's meaning), and the SIGHUP cases would test nothing."""
    for signum in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def drive(env: dict[str, str], args: list[str], actions: dict[str, Callable], timeout: float = 120) -> dict:
    """Start `zorora-e2e ARGS`; when a line matches an action's key (a step id such as "3.1", "start" for the
    first line: the header, printed once the signal handlers are in place; a signal during interpreter start-up
    ends any Python program), or "verdict" for the verdict line), call the action with the process (once each)."""
    proc = start_cli(env, args, preexec_fn=_as_from_a_terminal)
    lines: list[str] = []
    pending = dict(actions)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    closed = False
    try:
        for line in iter(proc.stdout.readline, ""):
            lines.append(line)
            match = STEP_LINE.match(line)
            keys = [match.group(1)] if match else []
            if len(lines) == 1:
                keys.append("start")
            if re.match(r"^[✓✗⚠] (E2E|Preflight)", line):
                keys.append("verdict")
            for key in keys:
                if key in pending:
                    if pending.pop(key)(proc) == "closed":
                        closed = True
            if closed:
                break
        stderr = proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close() if not proc.stdout.closed else None
        proc.stderr.close()
    return {"code": proc.returncode, "stdout": "".join(lines), "stderr": stderr}


def send(sig: int) -> Callable:
    def action(proc):
        if proc.poll() is None:
            proc.send_signal(sig)

    return action


def close_stdout(proc) -> str:
    proc.stdout.close()  # the reader goes away, like `| head -1`
    return "closed"


def run_args(cid: str, json_path, *extra: str) -> list[str]:
    return ["run", "--client", "direct", "--no-color", "--customer-id", cid, "--json", str(json_path), *extra]


# ----------------------------------------------------------------------------- 1. SIGTERM and SIGHUP

SIGNAL_POINTS = [
    (signal.SIGTERM, "start"),
    (signal.SIGTERM, "0.4"),
    (signal.SIGTERM, "1.3"),
    (signal.SIGTERM, "2.2"),
    (signal.SIGTERM, "3.1"),
    (signal.SIGTERM, "4.2"),
    (signal.SIGTERM, "5.1"),
    (signal.SIGHUP, "1.6"),
    (signal.SIGHUP, "3.1"),
    (signal.SIGHUP, "4.4"),
]


@pytest.mark.slow
@pytest.mark.parametrize("sig, after", SIGNAL_POINTS, ids=lambda v: v.name if isinstance(v, signal.Signals) else v)
def test_sigterm_and_sighup_end_the_run_like_ctrl_c(sandbox, tmp_path, sig, after):
    cid = customer("term")
    report = tmp_path / "r.json"
    outcome = drive(sandbox.env(), run_args(cid, report, "--junit", str(tmp_path / "r.xml")), {after: send(sig)})
    out, err = outcome["stdout"], outcome["stderr"]
    count("signals")
    assert outcome["code"] == 128 + sig, out + err
    assert not any(n in out + err for n in NOISE), out + err
    data = json.loads(report.read_text())
    assert data["verdict"] == INTERRUPTED and data["signal"] == sig.name
    if all(s["status"] == SKIP for s in data["steps"]):  # "start": the signal can land before a step ran
        assert "Stopped before anything ran: nothing was written, nothing to clean up." in out, out
        assert data["cleanup"]["leftover"] == []
    else:
        assert "E2E validation interrupted" in out and "nothing left in S3" in out, out
        assert data["cleanup"]["leftover"] == [] and data["cleanup"]["proven_empty"] is True
    assert (tmp_path / "r.xml").read_text().startswith("<?xml")
    if re.search(r"[✓✗] 1\.[2-6]", out):
        assert "✓ 5.2" in out, out
    assert sandbox.token not in out + err + report.read_text()
    assert leftover_check(customer_keys(sandbox, cid)) == []


@pytest.mark.slow
def test_sigterm_ends_a_demo_with_143_and_its_report(tmp_path):
    report = tmp_path / "demo.json"
    outcome = drive(
        {},
        ["demo", "--no-color", "--json", str(report), "--fault", f"latency:{LATENCY_MS}"],
        {"2.1": send(signal.SIGTERM)},
    )
    count("signals")
    assert outcome["code"] == 143, outcome["stdout"] + outcome["stderr"]
    assert not any(n in outcome["stdout"] + outcome["stderr"] for n in NOISE)
    data = json.loads(report.read_text())
    assert data["verdict"] == INTERRUPTED and data["signal"] == "SIGTERM"
    assert data["cleanup"] == {
        "deleted": data["cleanup"]["deleted"],
        "leftover": [],
        "kept": False,
        "proven_empty": True,
    }


# ----------------------------------------------------------------------------- 6. late signals


@pytest.mark.slow
def test_ctrl_c_after_the_proof_changes_only_the_exit_code(sandbox, tmp_path):
    cid = customer("late")
    report = tmp_path / "r.json"
    with sigint_reaches_children():
        outcome = drive(sandbox.env(), run_args(cid, report), {"5.2": send(signal.SIGINT)})
    out, err = outcome["stdout"], outcome["stderr"]
    count("signals")
    assert outcome["code"] == 130, out + err
    assert not any(n in out + err for n in NOISE), out + err
    assert "✓ E2E validation passed" in out and "E2E validation interrupted" not in out
    assert "may not have finished" not in out and "Interrupted." not in err
    assert json.loads(report.read_text())["verdict"] == PASSED
    assert leftover_check(customer_keys(sandbox, cid)) == []


@pytest.mark.slow
def test_three_ctrl_c_mid_run_after_the_proof_and_after_the_verdict(sandbox, tmp_path):
    cid = customer("late3")
    report = tmp_path / "r.json"
    with sigint_reaches_children():
        outcome = drive(
            sandbox.env(),
            run_args(cid, report),
            {"3.1": send(signal.SIGINT), "5.2": send(signal.SIGINT), "verdict": send(signal.SIGINT)},
        )
    out, err = outcome["stdout"], outcome["stderr"]
    count("signals", 3)
    assert outcome["code"] == 130, out + err
    assert not any(n in out + err for n in NOISE), out + err
    assert "E2E validation interrupted" in out and "nothing left in S3" in out
    assert "may not have finished" not in out and "may be left" not in out
    assert json.loads(report.read_text())["verdict"] == INTERRUPTED
    assert leftover_check(customer_keys(sandbox, cid)) == []


# ----------------------------------------------------------------------------- 2. a closed stdout

PIPE_CASES = [
    ("run", "start"),
    ("run", "0.1"),
    ("run", "1.2"),
    ("run", "3.1"),
    ("run", "4.5"),
    ("run", "5.2"),
    ("demo", "start"),
    ("demo", "0.1"),
]


@pytest.mark.slow
@pytest.mark.parametrize("command, when", PIPE_CASES, ids=lambda v: v)
def test_a_closed_stdout_never_cuts_the_run_short(sandbox, tmp_path, command, when):
    cid = customer("pipe")
    report = tmp_path / "r.json"
    if command == "run":
        args, env = run_args(cid, report), sandbox.env()
    else:
        args, env = ["demo", "--no-color", "--json", str(report), "--customer-id", cid], {}
    outcome = drive(env, args, {when: close_stdout})
    count("pipes")
    assert outcome["code"] == 0, outcome["stderr"]
    assert outcome["stderr"] == "", outcome["stderr"]  # no traceback, no "Exception ignored"
    data = json.loads(report.read_text())
    assert data["verdict"] == PASSED and len(data["steps"]) == STEPS
    assert data["cleanup"]["leftover"] == [] and data["cleanup"]["proven_empty"] is True
    if command == "run":
        assert leftover_check(customer_keys(sandbox, cid)) == []


@pytest.mark.slow
def test_a_closed_stdout_keeps_the_exit_code_of_a_failing_run(tmp_path):
    report = tmp_path / "r.json"
    outcome = drive({}, ["demo", "--no-color", "--json", str(report), "--fault", "no-audit"], {"0.1": close_stdout})
    count("pipes")
    assert outcome["code"] == 1 and outcome["stderr"] == "", outcome["stderr"]
    data = json.loads(report.read_text())
    assert data["verdict"] == FAILED and data["cleanup"]["leftover"] == []


@pytest.mark.slow
def test_demo_piped_into_head_exits_0_silently(tmp_path):
    report = tmp_path / "r.json"
    shell = subprocess.run(
        ["bash", "-c", f'set -o pipefail; "{SCRIPT}" demo --json "{report}" | head -1'],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        timeout=120,
    )
    count("pipes")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.startswith("Zorora ↔ ONA platform end-to-end validation") and shell.stderr == ""
    assert json.loads(report.read_text())["verdict"] == PASSED


CLOSED = {"stdout": ">&-", "stderr": "2>&-", "both": ">&- 2>&-", "stdin and stdout": "<&- >&-"}


@pytest.mark.slow
@pytest.mark.parametrize("closed", list(CLOSED))
@pytest.mark.parametrize("faults, code", [((), 0), (("no-audit",), 1)], ids=["passing", "failing"])
def test_a_stream_closed_from_the_start_exits_with_the_verdict(sandbox, tmp_path, closed, faults, code):
    """Issue 29 item 10: started with stdout closed (`>&-`, as some service managers start jobs), a passing run
    ended in a traceback and exit 1. Its exit is its verdict, its reports are written, nothing is left."""
    cid = customer("closed")
    report = tmp_path / "r.json"
    args = " ".join(f'"{a}"' for a in run_args(cid, report))
    env = {**CLEAN_ENV, **sandbox.env()}
    sandbox.set_faults([f"latency:{LATENCY_MS}", *faults])
    try:
        shell = subprocess.run(
            ["bash", "-c", f'"{SCRIPT}" {args} {CLOSED[closed]}'], capture_output=True, text=True, env=env, timeout=120
        )
    finally:
        sandbox.set_faults([f"latency:{LATENCY_MS}"])
    assert "Traceback" not in shell.stderr, shell.stderr
    assert shell.returncode == code, shell.stderr
    data = json.loads(report.read_text())
    assert data["verdict"] == (PASSED if code == 0 else FAILED) and data["cleanup"]["leftover"] == []
    assert leftover_check(customer_keys(sandbox, cid)) == []


# ----------------------------------------------------------------------------- 3. cleanup out of time


class S3Proxy(LoopbackServer):
    """Loopback HTTP proxy in front of the sandbox's S3. mode "trickle-delete": DeleteObjects is never
    forwarded; its answer trickles one byte every 0.1 s, so no read timeout fires. mode "deny-delete":
    DELETE requests answer 403 AccessDenied."""

    def __init__(self, upstream: str, mode: str):
        from urllib.parse import urlsplit

        self.upstream = urlsplit(upstream)
        self.mode = mode
        self.stopping = threading.Event()

        class Handler(QuietHandler):
            def _any(self):
                owner = self.server.owner
                if owner.mode == "trickle-delete" and self.command == "POST" and "delete" in self.path.split("?")[-1]:
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    while not owner.stopping.wait(0.1):
                        try:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                if owner.mode == "deny-delete" and self.command == "DELETE":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    payload = (
                        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                        b"<Message>Access Denied</Message></Error>"
                    )
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                forward(self, owner.upstream.port, self.path)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        super().__init__(Handler)

    def __exit__(self, *exc):
        self.stopping.set()  # a trickling answer ends first, or shutdown would wait for it
        super().__exit__(*exc)


def _through(sandbox, proxy):
    """The sandbox as a run's target, its S3 reached through `proxy`."""
    return dataclasses.replace(sandbox_target(sandbox), s3_endpoint_url=proxy.url)


def _run_in_process(flags: RunFlags, target, tmp_path) -> tuple:
    out = io.StringIO()
    flags = dataclasses.replace(flags, json_path=str(tmp_path / "r.json"))
    result = validate(resolve(flags, {}, target=target), console=make_console(file=out, no_color=True))
    return result, out.getvalue(), json.loads((tmp_path / "r.json").read_text())


def _sweep(sandbox, cid: str) -> None:
    swept = cli("sweep", "--older-than", "0s", "--yes", "--customer-id", cid, env=sandbox.env())
    assert swept.returncode == 0, swept.stdout + swept.stderr


@pytest.mark.slow
def test_a_cleanup_out_of_time_is_not_nothing_left(sandbox, tmp_path, monkeypatch):
    monkeypatch.setattr(cleanup, "CLEANUP_BUDGET", 1.0)  # per cleanup wave (at least 4 x --timeout)
    cid = customer("slowdel")
    with S3Proxy(sandbox.s3_endpoint_url, "trickle-delete") as proxy:
        # --timeout 1, not 0.5: phases 0-4 must write through the 150 ms sandbox on busy cores (in 4 processes on 2
        # the run once left nothing to find at 0.5 s, most likely a write timed out); the deletes still never end
        flags = RunFlags(client="direct", customer_id=cid, timeout="1")
        result, text, data = _run_in_process(flags, _through(sandbox, proxy), tmp_path)
    left = customer_keys(sandbox, cid)
    count("slow_cleanup")
    assert len(left) >= 5, left
    assert result.exit_code != 0 and result.verdict == FAILED, text
    assert "nothing left" not in text and "nothing left" not in verdict_line(result)
    assert "may be left" in verdict_line(result) and "not proven deleted" in text
    assert set(left) <= set(result.cleanup.leftover), (left, result.cleanup.leftover)
    assert data["cleanup"]["proven_empty"] is False and set(left) <= set(data["cleanup"]["leftover"])
    assert f"zorora-e2e sweep --customer-id {cid}" in text
    _sweep(sandbox, cid)
    assert leftover_check(customer_keys(sandbox, cid)) == []


@pytest.mark.slow
def test_late_writes_the_cleanup_cannot_delete_are_named_never_a_crash(sandbox, tmp_path, monkeypatch):
    """A promote answered 504 while the Lambda runs on (its writes land later), and S3 deletes that never
    finish: the cleanup's wait for the late writes found them but could not delete them. Seen in CI under
    load as a StoreError out of validate(); the run must end with the keys named and the sweep command."""
    monkeypatch.setattr(cleanup, "CLEANUP_BUDGET", 1.0)
    cid = customer("latedel")
    sandbox.set_faults([f"latency:{LATENCY_MS}", "lambda-outlives:1000"])
    try:
        with S3Proxy(sandbox.s3_endpoint_url, "trickle-delete") as proxy:
            flags = RunFlags(client="direct", customer_id=cid, timeout="2", phases=[0, 1, 3])
            result, text, data = _run_in_process(flags, _through(sandbox, proxy), tmp_path)
    finally:
        sandbox.set_faults([f"latency:{LATENCY_MS}"])
        for thread in [t for t in threading.enumerate() if t.name == "sandbox-lambda-outlives"]:
            thread.join(60)
    assert result.verdict == FAILED and data["cleanup"]["proven_empty"] is False, text
    assert "nothing left" not in text and data["cleanup"]["leftover"], text
    assert f"zorora-e2e sweep --customer-id {cid}" in text
    _sweep(sandbox, cid)
    assert leftover_check(customer_keys(sandbox, cid)) == []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["preflight-only", "failed-gate"])
def test_a_probe_left_behind_is_not_no_test_data_written(sandbox, tmp_path, how):
    """The probe (the run's claim on its customer id) that S3 would not delete: a preflight-only run deletes it in
    0.4, a full run whose gate failed in its cleanup; either way it is named, never "no test data written"."""
    cid = customer("probe")
    sandbox.set_faults([f"latency:{LATENCY_MS}", *(["bad-token"] if how == "failed-gate" else [])])
    try:
        with S3Proxy(sandbox.s3_endpoint_url, "deny-delete") as proxy:
            flags = RunFlags(client="direct", customer_id=cid, preflight_only=how == "preflight-only")
            result, text, data = _run_in_process(flags, _through(sandbox, proxy), tmp_path)
    finally:
        sandbox.set_faults([f"latency:{LATENCY_MS}"])
    left = customer_keys(sandbox, cid)
    assert left == [f"customer_tailored/{cid}/zorora-e2e-claim.txt"], left
    count("slow_cleanup")
    assert result.verdict == GATE_FAILED and result.exit_code != 0, text
    assert left and left == data["cleanup"]["leftover"], (left, data["cleanup"])
    assert "no test data written" not in text and "no test data written" not in verdict_line(result)
    _sweep(sandbox, cid)
    assert leftover_check(customer_keys(sandbox, cid)) == []


# ----------------------------------------------------------------------------- 4 + 5. Zorora's client


@pytest.fixture
def standin_zorora(monkeypatch):
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(STANDIN)
    from zorora.http_client import ZororaHTTPClient

    yield ZororaHTTPClient
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        del sys.modules[name]


@pytest.mark.slow
def test_a_promote_is_sent_once_even_when_it_times_out(standin_zorora, tmp_path):
    """Zorora's client retries a timeout immediately (four attempts): a promote could be re-sent after the
    cleanup. During a run it is sent once; the REPL's client gets its retries back."""
    with Sandbox(bucket="zorora-e2e-rel-once") as sb:
        settings = resolve(RunFlags(client="zorora", timeout="1", phases=[3]), {}, target=sandbox_target(sb))
        client = standin_zorora(settings.base_url, auth_token=settings.token, timeout=1, max_retries=3)
        out = io.StringIO()
        hang = HangFrom(sb, "/promote", 3)
        result = validate(
            settings,
            console=make_console(file=out, no_color=True),
            http_client=client,
            options=RunOptions(observers=[hang]),
        )
        left = bucket_keys(sb)
    promotes = [
        r for r in sb.request_log if r.method == "POST" and r.path.endswith("/promote") and r.started >= hang.since
    ]  # not the preflight's refused probe
    assert len(promotes) == 1, [(r.method, r.path, r.status) for r in sb.request_log]
    assert client.max_retries == 3
    assert result.verdict == FAILED and next(s for s in result.steps if s.id == "3.1").status == FAIL
    assert leftover_check(left) == []


class EnvWatch(Reporter):
    """At every event of the run: the state a run scopes once (env and client retries) is in force."""

    def __init__(self, client, actor):
        self.client, self.actor, self.seen = client, actor, []

    def _check(self, event):
        self.seen.append(
            (event, os.environ.get("ZORORA_AUTO_CONFIRM"), os.environ.get("ZORORA_ACTOR"), self.client.max_retries)
        )

    def run_started(self, ctx, phases):
        self._check("run_started")

    def phase_started(self, phase):
        self._check(f"phase {phase.id}")

    def step_finished(self, result):
        self._check(result.id)


@pytest.mark.slow
@pytest.mark.parametrize("before", [None, "false"])
def test_env_and_retries_are_scoped_once_around_the_whole_run(standin_zorora, monkeypatch, before):
    if before is None:
        monkeypatch.delenv("ZORORA_AUTO_CONFIRM", raising=False)
        monkeypatch.delenv("ZORORA_ACTOR", raising=False)
    else:
        monkeypatch.setenv("ZORORA_AUTO_CONFIRM", before)
        monkeypatch.setenv("ZORORA_ACTOR", "repl-user")
    changes: list = []
    stop = threading.Event()

    def watch():  # what requests does for proxies: iterate os.environ, concurrently with the run
        last = None
        while not stop.is_set():
            try:
                snapshot = (dict(os.environ).get("ZORORA_AUTO_CONFIRM"), os.environ.get("ZORORA_ACTOR"))
            except (KeyError, RuntimeError) as exc:
                changes.append(exc)
                continue
            if snapshot != last:
                changes.append(snapshot)
                last = snapshot

    with Sandbox(bucket="zorora-e2e-rel-env") as sb:
        settings = resolve(RunFlags(client="zorora", actor="e2e-bot"), {}, target=sandbox_target(sb))
        client = standin_zorora(settings.base_url, auth_token=settings.token, timeout=5, max_retries=3)
        observer = EnvWatch(client, "e2e-bot")
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        result = validate(
            settings,
            console=make_console(file=io.StringIO(), no_color=True),
            http_client=client,
            options=RunOptions(observers=[observer]),
        )
        stop.set()
        watcher.join()
        assert leftover_check(bucket_keys(sb)) == []
    assert result.verdict == PASSED
    wrong = [s for s in observer.seen if s[1:] != ("true", "e2e-bot", 0)]
    assert not wrong, wrong
    assert os.environ.get("ZORORA_AUTO_CONFIRM") == before
    assert os.environ.get("ZORORA_ACTOR") == (None if before is None else "repl-user")
    assert client.max_retries == 3
    # Set once (two variables) and restored once: at most 5 states, however many promotes and rollbacks ran.
    # (Per call, as before, every promote/rollback set and removed ZORORA_AUTO_CONFIRM: 9 states or more.)
    assert len([c for c in changes if not isinstance(c, Exception)]) <= 5, changes


@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
def test_the_scope_is_restored_when_the_run_is_interrupted(standin_zorora, monkeypatch):
    import _thread

    monkeypatch.delenv("ZORORA_AUTO_CONFIRM", raising=False)
    monkeypatch.setenv("ZORORA_ACTOR", "repl-user")

    class CtrlC(Reporter):
        def step_finished(self, result):
            if result.id == "2.1":
                _thread.interrupt_main()

    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with Sandbox(bucket="zorora-e2e-rel-env2") as sb:
        settings = resolve(RunFlags(client="zorora"), {}, target=sandbox_target(sb))
        client = standin_zorora(settings.base_url, auth_token=settings.token, timeout=5, max_retries=2)
        result = validate(
            settings,
            console=make_console(file=io.StringIO(), no_color=True),
            http_client=client,
            options=RunOptions(observers=[CtrlC()]),
        )
        assert leftover_check(bucket_keys(sb)) == []
    assert result.verdict == INTERRUPTED and result.exit_code == 130
    assert "ZORORA_AUTO_CONFIRM" not in os.environ and os.environ["ZORORA_ACTOR"] == "repl-user"
    assert client.max_retries == 2
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == previous  # the host's are back


# ----------------------------------------------------------------------------- 14. a redirect in the preflight


class Redirector:
    """127.0.0.1 answers every request with a 307 to `localhost` (another host: requests drops the token),
    whose answer is a plausible 200 — the false green."""

    def __init__(self):
        owner = self
        self.seen_auth: list[str | None] = []

        class Target(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.seen_auth.append(self.headers.get("Authorization"))
                body = b'{"customer_id":"test","challengers":[],"count":0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.target = ThreadingHTTPServer(("127.0.0.1", 0), Target)
        target_port = self.target.server_address[1]
        self.location = f"http://localhost:{target_port}/elsewhere/api/v1/challengers"

        class Redirect(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(307)
                self.send_header("Location", owner.location + "?X-Amz-Signature=s3cr3t-signature")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.front = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        self.url = f"http://127.0.0.1:{self.front.server_address[1]}/prod/api/v1"

    def __enter__(self):
        for server in (self.target, self.front):
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        for server in (self.target, self.front):
            server.shutdown()
            server.server_close()


@pytest.mark.slow
def test_a_redirect_in_the_preflight_is_a_finding_naming_where_it_pointed(sandbox, tmp_path):
    cid = customer("redir")
    with Redirector() as redirector:
        env = {**sandbox.env(), "ONA_API_BASE_URL": redirector.url}
        done = cli(
            "run", "--client", "direct", "--no-color", "--customer-id", cid, "--json", str(tmp_path / "r.json"), env=env
        )
    out = done.stdout + done.stderr
    count("redirects")
    assert done.returncode == 3, out
    assert "✓ 0.2" not in out and "✗ 0.1" in out, out
    step_0_1 = next(s for s in json.loads((tmp_path / "r.json").read_text())["steps"] if s["id"] == "0.1")
    assert step_0_1["actual"] == f"HTTP 307: redirected to {redirector.location}?…", step_0_1
    assert "s3cr3t-signature" not in out and sandbox.token not in out
    assert "no test data written" in out
    assert redirector.seen_auth == []  # the preflight never followed the redirect
    assert leftover_check(customer_keys(sandbox, cid)) == []


# ----------------------------------------------------------------------------- 4. the run's last request


class ThreadsAtCleanup(Reporter):
    """Which step threads are still alive when phase 5 starts."""

    def __init__(self):
        self.alive: list[str] | None = None

    def phase_started(self, phase):
        if phase.id == 5 and self.alive is None:
            self.alive = sorted(t.name for t in threading.enumerate() if t.name.startswith("zorora-e2e-step-"))


@pytest.mark.slow
def test_cleanup_starts_after_the_last_request_of_the_run_ended(tmp_path):
    """The deadline cuts off a promote that hangs: cleanup waits for its request to end (one attempt, no
    retries) before it lists and deletes, so the proof that the prefixes are empty is after the last request."""
    cid = customer("drain")
    watch = ThreadsAtCleanup()
    with Sandbox(bucket="zorora-e2e-rel-drain") as sb:
        flags = RunFlags(client="direct", customer_id=cid, timeout="5", deadline="3", phases=[3])
        out = io.StringIO()
        hang = HangFrom(sb, "/promote", 3)
        result = validate(
            resolve(flags, {}, target=sandbox_target(sb)),
            console=make_console(file=out, no_color=True),
            options=RunOptions(observers=[watch, hang]),
        )
        left = bucket_keys(sb)
    text = out.getvalue()
    promotes = [
        r for r in sb.request_log if r.method == "POST" and r.path.endswith("/promote") and r.started >= hang.since
    ]  # not the preflight's refused probe
    assert "no result before the deadline" in text, text
    assert watch.alive == [], watch.alive  # the cut-off promote had ended before cleanup began
    assert len(promotes) == 1, promotes
    # the promote got no answer: the Lambda may still act, so the cleanup watched the prefixes and, as nothing
    # landed, names what may still appear instead of "nothing left" (issue 17 item 3)
    assert "no answer, so the Lambda may still write" in text and "may still appear" in text, text
    assert not result.cleanup.proven_empty and f"audit_logs/{cid}/events.json" in result.cleanup.leftover, text
    assert leftover_check(left) == []


@pytest.mark.slow
def test_a_request_that_may_still_land_is_listed_not_proven_away(tmp_path, monkeypatch):
    """When a cut-off step outlives the drain, cleanup still runs, but the report does not claim "nothing
    left": it names the step and the prefixes it may still write under, with the sweep command."""
    monkeypatch.setattr(cleanup, "DRAIN_REQUESTS", 0)  # drain: 1 s, while the hung promote waits 10 s
    cid = customer("late-req")
    with Sandbox(bucket="zorora-e2e-rel-late") as sb:
        flags = RunFlags(client="direct", customer_id=cid, timeout="10", deadline="4", phases=[3])
        out = io.StringIO()
        result = validate(
            resolve(flags, {}, target=sandbox_target(sb)),
            console=make_console(file=out, no_color=True),
            options=RunOptions(observers=[HangFrom(sb, "/promote", 3)]),
        )
        text = out.getvalue()
        count("slow_cleanup")
        assert result.verdict == FAILED and result.exit_code == 1, text
        assert not result.cleanup.proven_empty and "nothing left" not in text
        assert f"customer_tailored/{cid}/*" in result.cleanup.leftover, result.cleanup.leftover
        assert "still running after the cleanup" in text and "3.1" in text
        assert f"zorora-e2e sweep --customer-id {cid}" in text
        left = customer_keys(sb, cid)
    assert leftover_check(left) == []  # the hung promote never reached the Lambda


_GC_SIGNAL = r"""
import signal, sys, weakref
from zorora_e2e_plugin.run.signals import SignalGuard

guard = SignalGuard().install()


class Garbage:
    pass


def collected(_ref):  # the signal lands while the main thread runs a weakref callback (as when GC frees a thread)
    signal.raise_signal(signal.SIGINT)


item = Garbage()
ref = weakref.ref(item, collected)
del item


def broken(_ref):
    raise ValueError("other unraisable")


other = Garbage()
other_ref = weakref.ref(other, broken)
del other
guard.restore()
print("received", guard.received, "hook restored", sys.unraisablehook is sys.__unraisablehook__)
"""


def test_a_signal_inside_a_weakref_callback_prints_no_traceback():
    """Seen once in CI: SIGINT right after 4.4's line landed in WeakSet._remove; Python dropped the
    RunInterrupted raised there (the signal was recorded, the run still ended interrupted) but printed
    "Exception ignored in ..." with a traceback. The guard keeps only that printout off stderr."""
    done = subprocess.run([sys.executable, "-c", _GC_SIGNAL], capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
    assert done.returncode == 0, done.stderr
    assert "received [2] hook restored True" in done.stdout, done.stdout + done.stderr
    assert "RunInterrupted" not in done.stderr and "collected" not in done.stderr, done.stderr
    assert "other unraisable" in done.stderr  # anything else still reaches the hook that was there before
