"""`zorora-e2e run --preflight-only --for ...` and `zorora-e2e sandbox --seed-customer ...` as a user runs
them: the console script in subprocesses, a seeded sandbox served by another one."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from helpers.cli import CLEAN_ENV, SCRIPT, cli, read_exports

DUMMY = {"ONA_API_BASE_URL": "http://127.0.0.1:9/prod/api/v1", "ONA_API_TOKEN": "t0ken-value"}


@pytest.fixture(scope="module")
def served():
    """`zorora-e2e sandbox --seed-customer acme --seed-customer beta:stale`, its seeding lines and exports."""
    proc = subprocess.Popen(
        [SCRIPT, "sandbox", "--seed-customer", "acme", "--seed-customer", "beta:stale"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
        stdin=subprocess.DEVNULL,
    )
    try:
        seeded = [proc.stdout.readline(), proc.stdout.readline()]
        yield seeded, read_exports(proc)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_seeding_lines_name_the_customers_and_their_challengers(served):
    seeded, _env = served
    assert seeded[0].startswith("# seeded customer acme (eligible): challenger acme/challenger_"), seeded
    assert seeded[1].startswith("# seeded customer beta (stale): challenger beta/challenger_"), seeded


@pytest.mark.slow
def test_ready_exits_0_with_the_answer_last(served, tmp_path):
    _seeded, env = served
    report = tmp_path / "r.json"
    done = cli(
        "run", "--preflight-only", "--for", "acme", "--client", "direct", "--no-color", "--json", str(report), env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the verdict is the summary's last line; where --json went is said after it
    lines = [line for line in done.stdout.rstrip().splitlines() if not line.startswith("--json report written to")]
    last = lines[-1]
    assert done.stdout.rstrip().splitlines()[-1].startswith("--json report written to")
    assert last.startswith("✓ ready: ml-promote acme acme/challenger_") and "14 windows" in last, last
    assert "ml-promote acme acme/challenger_" in done.stdout and "to promote, type:" in done.stdout
    assert json.loads(report.read_text())["readiness"]["answer"]["kind"] == "ready"


@pytest.mark.slow
def test_refused_exits_4_naming_the_gate(served):
    seeded, env = served
    challenger = seeded[1].split("challenger ")[1].split(",")[0]
    done = cli("run", "--preflight-only", "--for", "beta", challenger, "--client", "direct", "--no-color", env=env)
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1] == (
        f"✗ ml-promote beta {challenger} would be refused: metrics stale (evaluated 9 days ago; the gate is 7 days)"
    )


def test_show_state_shows_the_customers_registry(served):
    _seeded, env = served
    done = cli("run", "--preflight-only", "--for", "acme", "--show-state", "--client", "direct", "--no-color", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "◆ The registry of acme (s3://sa-api-client-output/customer_tailored/acme/latest_model.json)" in done.stdout
    assert "production  acme/production/model_" in done.stdout and "status training" in done.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "--preflight-only", "--for", "acme corp"], "is not a customer id"),
        (["run", "--preflight-only", "--for", "acme", "acme/x", "more"], "at most one challenger id"),
        (["sandbox", "--seed-customer", "acme:bogus"], "unknown variant 'bogus'; one of eligible, stale, regressing"),
        (["sandbox", "--seed-customer", "ac me"], "must be a customer id"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(args, words):
    done = cli(*args, env=DUMMY, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_help_documents_the_flags_and_exit_codes():
    run_help = cli("run", "--help").stdout
    assert "--for CUSTOMER [CHALLENGER_ID]" in run_help and "4 would be refused" in " ".join(run_help.split())
    assert "CHALLENGER_ID ...]" not in run_help  # it takes one or two values, no more
    top = " ".join(cli("--help").stdout.split())
    assert "4 (--for) ml-promote would be refused, 5 (--for) not answerable" in top
    assert "--seed-customer NAME[:VARIANT]" in cli("sandbox", "--help").stdout
    assert os.path.basename(SCRIPT) == "zorora-e2e"


@pytest.mark.slow
def test_the_walkthrough_explains_the_readiness_phase(served):
    """In a real pseudo-terminal: a pause before phase 6 that says what it reads and that nothing is written."""
    pexpect = pytest.importorskip("pexpect")
    from helpers.terminal import PAUSE, spawn_cli

    _seeded, env = served
    child = spawn_cli(
        ["run", "--preflight-only", "--for", "acme", "--client", "direct", "--walkthrough"],
        {**env, "ZORORA_E2E_HISTORY": "0"},
    )
    for phase in (0, 6):
        child.expect(rf"Next: phase {phase} ·")
        child.expect_exact(PAUSE)
        child.sendline("")
    child.expect(r"ready: ml-promote acme")
    child.expect(pexpect.EOF)
    child.close()
    screen = child.logfile_read.text()
    assert child.exitstatus == 0, screen
    assert "Readiness (--for): will ml-promote pass for this customer now?" in screen
    assert "Nothing is written or promoted for it." in " ".join(screen.split())
    assert "GET /diff (production_id {customer}/production/latest)" in screen
    assert "◆ The registry of acme" in screen  # the walkthrough shows the state views too


@pytest.mark.slow
def test_demo_seeds_a_customer_for_for():
    done = cli("demo", "--preflight-only", "--seed-customer", "acme:regressing", "--for", "acme", "--no-color")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "would be refused: seasonal regression" in done.stdout.rstrip().splitlines()[-1]
    bad = cli("demo", "--preflight-only", "--seed-customer", "acme:nope", "--for", "acme")
    assert bad.returncode == 2 and "unknown variant 'nope'" in bad.stderr
