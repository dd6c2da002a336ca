"""Run history (~/.zorora/e2e-history.jsonl) and cold starts: real runs against the sandbox over
loopback, real processes appending at once, real files. No timing assertions (figures go in the bench)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from helpers.cli import CLEAN_ENV, SCRIPT, cli
from helpers.engine import run_engine
from standin.harness import output

import zorora_e2e_plugin
from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.history import file as history_file_module
from zorora_e2e_plugin.history import record as history
from zorora_e2e_plugin.history import view as history_view
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.sandbox import Sandbox

CANARY = "canary-token-9f2c41d7e8b3"
ROUTE_NAMES = {f"{m} {r}" for m in ("GET", "POST") for r in history.ROUTES}


@pytest.fixture
def history_file(tmp_path, monkeypatch):
    path = tmp_path / "zorora-home" / "e2e-history.jsonl"
    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(path))
    return path


def figure(text, pattern):
    """A measured duration as a number: what a run measures is asserted within a range, never as text."""
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{pattern!r} not in {text!r}"
    return float(found.group(1))


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def record(started: datetime, **fields):
    base = {
        "v": 1,
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": "api.example.com",
        "client": "direct",
        "kind": "preflight",
        "verdict": "passed",
        "duration_s": 0.5,
        "routes": {},
    }
    base.update(fields)
    return base


# ----------------------------------------------------------------------------------- where it goes


def test_path_default_off_and_moved(tmp_path):
    assert history.history_path({}) == os.path.expanduser("~/.zorora/e2e-history.jsonl")
    assert history.history_path({"ZORORA_E2E_HISTORY": "0"}) is None
    assert history.history_path({"ZORORA_E2E_HISTORY": str(tmp_path / "h.jsonl")}) == str(tmp_path / "h.jsonl")


# ----------------------------------------------------------------------------------- recording runs


@pytest.mark.slow
def test_a_run_appends_one_line_with_phases_routes_and_no_secrets(history_file, tmp_path):
    report = tmp_path / "e2e.json"
    with Sandbox(token=CANARY) as sandbox:
        port = sandbox.api_url.split(":")[2].split("/")[0]
        env = {**sandbox.env(), "ZORORA_E2E_HISTORY": str(history_file)}
        done = cli("run", "--client", "direct", "--no-color", "--json", str(report), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        secret_key = sandbox.secret_access_key
    text = history_file.read_text()
    assert text.count("\n") == 1
    for secret in (CANARY, secret_key, "/prod/api/v1", "customer_id=", "zorora-e2e-test-"):
        assert secret not in text, secret
    [line] = lines_of(history_file)
    assert line["target"] == f"127.0.0.1:{port}"
    assert line["kind"] == "full" and line["verdict"] == PASSED and line["client"] == "direct"
    assert set(line["phase_s"]) == {"0", "1", "2", "3", "4", "5"}
    assert set(line["routes"]) <= ROUTE_NAMES and {"POST /promote", "POST /rollback", "GET /metrics"} <= set(
        line["routes"]
    )
    assert (
        line["routes"]["GET /metrics"]["count"] == 4
    )  # 0.5 probes the route twice, then challenger and production; never the ids
    assert all(r["max_ms"] >= r["median_ms"] > 0 for r in line["routes"].values())
    assert line["cold_start"] is False and line["first_request_s"] is None
    assert line["json_report"] == str(report)
    datetime.strptime(line["started"], "%Y-%m-%dT%H:%M:%SZ")


def test_target_is_the_host_only():
    assert (
        history.target_host("https://alice:pw-1234@abc.execute-api.af-south-1.amazonaws.com/prod/api/v1?x=1")
        == "abc.execute-api.af-south-1.amazonaws.com"
    )
    assert history.target_host("https://api.example.com:8443/prod/api/v1") == "api.example.com:8443"
    assert history.target_host("http://127.0.0.1:5000/prod/api/v1", sandbox=True) == "sandbox"


def test_history_off_writes_nothing(tmp_path, sandbox_instance):
    path = tmp_path / "h.jsonl"
    env = {**sandbox_instance.env(), "ZORORA_E2E_HISTORY": "0", "HOME": str(tmp_path)}
    done = cli("run", "--preflight-only", "--client", "direct", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not path.exists() and not (tmp_path / ".zorora").exists()


@pytest.mark.slow
def test_four_runs_at_once_lose_no_line(history_file, sandbox_instance):
    env = {**sandbox_instance.env(), "ZORORA_E2E_HISTORY": str(history_file)}
    procs = [
        subprocess.Popen(
            [SCRIPT, "run", "--preflight-only", "--client", "direct", "--no-color"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**CLEAN_ENV, **env},
            stdin=subprocess.DEVNULL,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    lines = lines_of(history_file)
    assert len(lines) == 4 and {line["kind"] for line in lines} == {"preflight"}


_APPENDER = """
import sys
from zorora_e2e_plugin.history.file import append
who, path = sys.argv[1], sys.argv[2]
import zorora_e2e_plugin.history.file as history_file
history_file.ROTATE_BYTES = 1 << 40  # this test is about torn lines, not the file's bound (test_history_file.py)
for i in range(150):
    append({"started": "2026-01-01T00:00:00Z", "who": who, "i": i, "pad": who * 40000}, path)
"""


def test_parallel_appends_of_large_lines_never_interleave(tmp_path):
    """Lines of 40 kB, far above any buffer: a writer that does not append in one write(2) tears them."""
    path = tmp_path / "h.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, who, str(path)]) for who in "abcd"]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    records, notes = history_file_module.read(str(path), tail_bytes=1 << 30)
    assert notes == []
    assert len(records) == 600
    for who in "abcd":
        assert sorted(r["i"] for r in records if r["who"] == who) == list(range(150))


def test_a_corrupt_line_is_skipped_with_a_note(history_file):
    now = datetime.now(timezone.utc)
    good = [json.dumps(record(now - timedelta(minutes=m))) for m in (5, 3)]
    history_file.parent.mkdir(parents=True)
    history_file.write_text(
        "\n".join(
            [
                good[0],
                '{"started": "2026-01-0',
                "[1, 2]",
                "\x00\xff garbage",
                json.dumps({"started": "yesterday"}),
                good[1],
            ]
        )
        + "\n"
    )
    with open(history_file, "a") as handle:  # parses, but its fields are of the wrong kinds
        handle.write(
            json.dumps(record(now, routes=["GET /diff"], cold_start=True, first_request_s="slow", target=None, kind=7))
            + "\n"
        )
    records, notes = history_file_module.read(str(history_file))
    assert len(records) == 2  # the record whose fields are of the wrong kinds is skipped too (issue 17 item 14)
    assert notes == [f"5 line(s) of {history_file} are not run records: skipped (line 2, 3, 4, 5, 7)"]
    done = cli("history", "--no-color", env={"ZORORA_E2E_HISTORY": str(history_file)})
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "5 line(s) of" in done.stdout and "skipped" in done.stdout
    assert "api.example.com  2 run(s)" in done.stdout and "None" not in done.stdout


# ----------------------------------------------------------------------------------- rendering


def test_sparkline_for_one_and_fifty_runs():
    assert history_view.sparkline([]) == ""
    assert history_view.sparkline([0.7]) == "▄"
    rising = [0.2 + i * 0.01 for i in range(50)]
    line = history_view.sparkline(rising)
    assert len(line) == 50 and line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line)  # rising durations, rising blocks
    assert history_view.sparkline(rising + [5.0], width=50)[-1] == "█" and len(history_view.sparkline(rising * 3)) == 50
    assert set(history_view.sparkline([1.0] * 50)) == {"▄"}


def test_history_view_per_target_with_sparklines_last_preflight_and_slower_routes(tmp_path):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    slow = {
        "GET /diff": {"count": 2, "median_ms": 300.0, "max_ms": 320.0},
        "GET /challengers": {"count": 2, "median_ms": 110.0, "max_ms": 120.0},
    }
    fast = {
        "GET /diff": {"count": 2, "median_ms": 100.0, "max_ms": 120.0},
        "GET /challengers": {"count": 2, "median_ms": 100.0, "max_ms": 130.0},
    }
    rows = [record(now - timedelta(days=10, minutes=i), routes=fast, duration_s=0.4) for i in range(25)]
    rows += [record(now - timedelta(hours=i + 3), routes=slow, kind="full", duration_s=2.0 + i / 10) for i in range(25)]
    rows += [
        record(now - timedelta(hours=2), verdict="gate_failed", duration_s=0.3),
        record(now - timedelta(hours=1), target="sandbox", cold_start=True, first_request_s=4.2),
    ]
    path = tmp_path / "h.jsonl"
    for row in rows:
        history_file_module.append(row, str(path))
    out = io.StringIO()
    shown = history_view.show(make_console(file=out, no_color=True), limit=5, path=str(path), now=now)
    text = out.getvalue()
    assert shown == 6  # 5 for api.example.com, 1 for the sandbox
    assert "api.example.com  51 run(s)  last passing preflight: 3 h 0 min ago" in text  # a full run passed
    assert "sandbox  1 run(s)  last passing preflight: 60 min ago" in text
    assert "cold start 4.2 s" in text
    preflight = next(ln for ln in text.splitlines() if ln.split()[:2] == ["preflight", "passed"] and "(25 runs)" in ln)
    full = next(ln for ln in text.splitlines() if ln.split()[:2] == ["full", "passed"])
    assert len(preflight.split()[2]) == 25 and len(full.split()[2]) == 25  # the gate failure has a line of its own
    assert "slower: GET /diff median 100 ms -> 300 ms" in text and "slower: GET /challengers" not in text
    only = io.StringIO()
    history_view.show(make_console(file=only, no_color=True), target="sandbox", path=str(path), now=now)
    assert "api.example.com" not in only.getvalue() and "sandbox" in only.getvalue()


# ----------------------------------------------------------------------------------- cold starts


def test_cold_start_rule():
    assert history.cold_start_seconds([(0.0, 4.2), (4.3, 0.1), (4.5, 0.2), (4.8, 0.1)]) == 4.2
    # concurrent opening requests: the one that met the cold Lambda counts, even if sent second
    assert history.cold_start_seconds([(0.0, 0.1), (0.001, 2.0), (2.1, 0.1)]) == 2.0
    assert history.cold_start_seconds([(0.0, 0.9), (1.0, 0.1)]) is None  # under 1 s
    assert history.cold_start_seconds([(0.0, 1.5), (1.6, 0.5), (2.2, 0.5)]) is None  # only 3x
    assert history.cold_start_seconds([(0.0, 5.0)]) is None  # nothing to compare with
    assert history.cold_start_detail(4.2) == "cold start: first request 4.2 s (container-image Lambda starting)"
    assert "Lambda" not in history.cold_start_detail(4.2, sandbox=True)  # no Lambda in a sandbox to blame


@pytest.mark.slow
def test_a_cold_start_is_a_detail_of_the_report_and_recorded(history_file):
    with Sandbox() as sandbox:
        result, text = run_engine(sandbox, ["cold-start:3300"])  # >= 5x the others even on a loaded machine
        warm, warm_text = run_engine(sandbox, ["latency:20"], phases=[0])
    assert result.verdict == PASSED and result.exit_code == 0, text
    shown = figure(text, r"cold start: first request ([\d.]+) s \(sandbox: its cold-start fault")  # in-process
    assert 3.3 <= shown < 5, text
    assert result.note and 3.3 <= figure(result.note, r"^cold start: first request ([\d.]+) s") < 5
    assert warm.verdict == PASSED and "cold start" not in warm_text and warm.note is None
    first, second = lines_of(history_file)
    assert first["cold_start"] is True and 3.3 <= first["first_request_s"] < 5
    assert second["cold_start"] is False and second["kind"] == "preflight" and set(second["phase_s"]) == {"0"}


# ----------------------------------------------------------------------------------- in the REPL


@pytest.mark.slow
def test_repl_runs_are_recorded_and_shown_with_history(host, monkeypatch, history_file):
    sandbox = Sandbox(faults=["cold-start:3200"]).start()  # >= 5x the others even on a loaded machine
    try:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        repl = host.repl()
        zorora_e2e_plugin.register(repl)
        session = repl.remote_commands["ml-list-challengers"].http_client.session
        hooks_before = list(session.hooks.get("response", []))
        repl.handle("ml-validate-e2e --preflight-only")
        ours = repl.remote_commands["ml-validate-e2e"]
        assert repl.responses[-1] == "" and ours.last_verdict.startswith("✓ Preflight passed"), output(repl)
        shown = figure(output(repl), r"cold start: first request ([\d.]+) s \(container-image Lambda starting\)")
        assert 3.2 <= shown < 5, output(repl)
        assert list(session.hooks.get("response", [])) == hooks_before  # the REPL's client is left as it was
        repl.handle("ml-validate-e2e --history")
        assert repl.responses[-1] == "" and ours.last_verdict == ""  # the history is all there is to show
    finally:
        sandbox.stop()
    [line] = lines_of(history_file)
    assert line["client"] == "zorora" and line["kind"] == "preflight" and line["cold_start"] is True
    text = output(repl)
    assert "last passing preflight: " in text and 3.2 <= figure(text, r"cold start ([\d.]+) s") < 5
    assert "▄" in text  # one run: one block
