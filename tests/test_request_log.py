"""--log-requests: one line per API request a presenter can show beside a run (time, method, status, ms,
path with ids shortened, actor) — never the token, even when the platform echoes it back (echo-auth) or a
client puts it where a log line would show it."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
from urllib.parse import quote

import pytest
import requests
from helpers.cli import SCRIPT, read_exports
from standin.harness import output

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import RequestFeed, sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import RequestRecord, Sandbox
from zorora_e2e_plugin.sandbox.requestlog import RequestLogFormat

CANARY = "canary-TOKEN-7f3a9c2e51"  # the token: it must appear in no line
LINE = re.compile(r"^\s*\d\d:\d\d:\d\d\.\d{3}  (GET|POST)\s+(\d{3})\s+\d+ ms  (\S+)\s+(.*)$")


def record(path, query="", actor="", status=200, method="GET", kind="api"):
    return RequestRecord(kind, method, path, status, 10.0, 10.012, actor=actor, query=query, at=time.time())


def test_a_line_shortens_the_test_customer_and_names_it_once():
    fmt = RequestLogFormat([CANARY])
    customer = "zorora-e2e-test-20261126071002-53df57"
    first = fmt.lines(record(f"/prod/api/v1/metrics/{customer}/challenger_1", actor="zorora-validation-bot"))
    assert first[0] == f"# {{C}} = {customer}"
    assert LINE.match(first[1]).groups() == ("GET", "200", "/metrics/{C}/challenger_1", "zorora-validation-bot")
    again = fmt.lines(record("/prod/api/v1/challengers", query=f"customer_id={customer}", method="GET"))
    assert len(again) == 1 and "/challengers?customer_id={C}" in again[0] and again[0].endswith("  -")
    other = fmt.lines(record("/prod/api/v1/audit-log", query="customer_id=zorora-e2e-test-other-1"))
    assert other[0] == "# {C2} = zorora-e2e-test-other-1" and "customer_id={C2}" in other[1]
    assert fmt.lines(record("/bucket/key", kind="s3")) == []  # API requests only


@pytest.mark.parametrize("where", ["path", "query", "actor", "encoded", "control"])
def test_the_token_is_blotted_out_wherever_a_client_put_it(where):
    fmt = RequestLogFormat([CANARY])
    rec = {
        "path": record(f"/prod/api/v1/metrics/{CANARY}"),
        "query": record("/prod/api/v1/challengers", query=f"customer_id={quote(CANARY)}&t=Bearer+{CANARY}"),
        "actor": record("/prod/api/v1/promote", method="POST", actor=f"Bearer {CANARY}"),
        "encoded": record(f"/prod/api/v1/metrics/{quote(CANARY + '/x', safe='')}"),
        "control": record("/prod/api/v1/promote", actor=f"\x1b[2J{CANARY}\n"),
    }[where]
    text = "\n".join(fmt.lines(rec))
    assert CANARY not in text and "***" in text and "\x1b" not in text and "\n" not in text.strip("\n")


def test_a_long_token_is_blotted_out_before_anything_is_cut():
    token = "long-" + "x1y2z3" * 12  # longer than any field is cut to
    fmt = RequestLogFormat([token])
    lines = fmt.lines(record("/prod/api/v1/challengers", query=f"customer_id={token}", actor=f"Bearer {token}"))
    text = "\n".join(lines)
    assert "x1y2z3x1" not in text and "customer_id=***" in text and text.endswith("Bearer ***"), text


@pytest.mark.slow
def test_the_sandbox_command_logs_each_request_and_never_the_token_even_when_echoed():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONA_", "AWS_"))}
    proc = subprocess.Popen(
        [SCRIPT, "sandbox", "--token", CANARY, "--fault", "echo-auth", "--log-requests"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = read_exports(proc)["ONA_API_BASE_URL"]
        good = {"Authorization": f"Bearer {CANARY}"}
        bad = requests.get(
            f"{base}/challengers",
            params={"customer_id": "x"},
            headers={"Authorization": f"Bearer {CANARY}-wrong"},
            timeout=5,
        )
        assert CANARY in bad.text  # echo-auth: the platform itself leaks it ...
        requests.get(f"{base}/challengers", params={"customer_id": "zorora-e2e-test-demo-1"}, headers=good, timeout=5)
        requests.get(f"{base}/metrics/{CANARY}", headers={**good, "X-Actor": CANARY}, timeout=5)
        requests.post(
            f"{base}/promote",
            json={"customer_id": "zorora-e2e-test-demo-1", "reason": "short", "actor": "presenter"},
            headers=good,
            timeout=5,
        )
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = [line for line in out.splitlines() if LINE.match(line)]
    assert len(lines) == 4, out
    assert LINE.match(lines[0]).group(2) == "401" and "/challengers?customer_id=x" in lines[0]
    assert "# {C} = zorora-e2e-test-demo-1" in out and "/challengers?customer_id={C}" in lines[1]
    assert lines[3].split()[1:3] == ["POST", "400"] and lines[3].endswith("presenter")
    assert CANARY not in out + err  # ... but never into the log


@pytest.fixture(scope="module")
def canary_sandbox():
    with Sandbox(token=CANARY, faults=["echo-auth"], bucket="zorora-e2e-request-log") as sb:
        yield sb


def test_in_process_the_lines_join_the_report_and_never_show_the_token(canary_sandbox):
    feed = RequestFeed(canary_sandbox.token)
    canary_sandbox.request_listeners.append(feed)
    try:
        settings = resolve(RunFlags(client="direct", phases=[0]), {}, target=sandbox_target(canary_sandbox))
        buffer = io.StringIO()
        result = validate(
            settings, console=make_console(file=buffer, force_terminal=False), options=RunOptions(request_feed=feed)
        )
    finally:
        canary_sandbox.request_listeners.remove(feed)
    text = buffer.getvalue()
    assert result.verdict == PASSED, text
    lines = [line for line in text.splitlines() if LINE.match(line)]
    assert any("400" == LINE.match(line).group(2) for line in lines), text  # error answers: echo-auth echoes the token
    assert any("/challengers?customer_id=test" in line for line in lines)
    assert text.index("Phase 0") < text.index(lines[0]) < text.index("✓ 0.1")  # the lines sit inside the report
    assert CANARY not in text
    before = len(canary_sandbox.request_log)
    requests.get(f"{canary_sandbox.api_url}/challengers", timeout=5)
    assert len(canary_sandbox.request_log) == before + 1 and buffer.getvalue() == text  # detached after the run


def test_the_flag_is_offered_by_every_run_and_the_sandbox():
    for command in ("demo", "run", "sandbox"):
        shown = subprocess.run([SCRIPT, command, "--help"], capture_output=True, text=True, timeout=30)
        assert "--log-requests" in shown.stdout, command


def test_in_the_repl_it_logs_the_runs_own_requests_and_with_sandbox_the_sandboxs(host, monkeypatch):
    """Without --sandbox: the validator's own requests (API and S3) against the deployment Zorora points at;
    with --sandbox: the sandbox's server-side log, as before."""
    import zorora_e2e_plugin

    with Sandbox(token=CANARY, bucket="zorora-e2e-request-log-repl") as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        repl = host.repl()
        zorora_e2e_plugin.register(repl)
        repl.handle("ml-validate-e2e --preflight-only --log-requests")
        text = output(repl)
        assert repl.remote_commands["ml-validate-e2e"].last_verdict.startswith("✓ Preflight passed"), text
        lines = [line for line in text.splitlines() if LINE.match(line)]
        assert any("/challengers" in line for line in lines) and "[S3 PutObject]" in text, text
        assert CANARY not in text
    repl.handle("ml-validate-e2e --sandbox --preflight-only --log-requests")
    text = output(repl)
    assert repl.remote_commands["ml-validate-e2e"].last_verdict.startswith("✓ Preflight passed"), text
    assert any(LINE.match(line) for line in text.splitlines()), text
