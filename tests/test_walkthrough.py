"""The presenter's walkthrough (`--walkthrough`) and the state views (`--show-state`): the CLI in a real
pseudo-terminal (pexpect) against a loopback sandbox whose S3 is inspected afterwards, the CLI without a
terminal, and `ml-validate-e2e` in the stand-in REPL driven through prompt_toolkit's pipe input.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from helpers.terminal import CLI, PAUSE, spawn_cli
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from standin.harness import REPO_ROOT, output, subprocess_env

import zorora_e2e_plugin
from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.report.walkthrough import STOPPED
from zorora_e2e_plugin.sandbox import Sandbox

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TEST_PREFIXES = ("customer_tailored/zorora-e2e-test-", "model_metrics/zorora-e2e-test-", "audit_logs/zorora-e2e-test-")


def left_in(sandbox):
    return [
        o["Key"]
        for o in sandbox.s3_client().list_objects_v2(Bucket=sandbox.bucket).get("Contents", [])
        if o["Key"].startswith(TEST_PREFIXES)
    ]


@pytest.mark.slow
def test_walkthrough_pauses_once_per_phase_and_shows_the_state(tmp_path):
    with Sandbox() as sandbox:
        child = spawn_cli(["run", "--walkthrough"], {**sandbox.env(), "ZORORA_E2E_HISTORY": "0"})
        for phase in range(6):
            child.expect(rf"Next: phase {phase} ·")
            child.expect_exact(PAUSE)
            child.sendline("")
        child.expect(r"E2E validation passed")
        child.expect(pexpect.EOF)
        child.close()
        screen = child.logfile_read.text()
        assert child.exitstatus == 0, screen
        assert screen.count(PAUSE) == 6
        assert "It sends:" in screen and "POST /promote" in screen
        # phase 1: the test world as a tree, each object with its size
        assert "The test world in S3 (after phase 1" in screen
        assert re.search(r"latest_model\.json\s+\d", screen) and "└── " in screen
        # 3.1 and 3.3: registry before -> after, archive, audit table
        assert "Registry before → after ml-promote (step 3.1" in screen
        assert "Registry before → after ml-rollback (step 3.3" in screen
        assert re.search(r"promoted_by\s+test-setup\s+→\s+zorora-validation-bot", screen)
        assert "Archive (customer_tailored/{C}/archived/): 1 object(s)" in screen
        assert re.search(r"time\s+actor\s+action\s+model\s+reason", screen)
        assert "Audit log: 2 event(s)" in screen
        # phase 4 and 5
        assert "Phase 4: what was refused" in screen and "✓ audit log unchanged" in screen
        assert "prefixes after cleanup" in screen and screen.count("(empty)") >= 3
        assert sandbox.token not in screen
        assert left_in(sandbox) == []


@pytest.mark.slow
def test_q_at_a_pause_stops_and_still_cleans_up(tmp_path):
    with Sandbox() as sandbox:
        child = spawn_cli(["run", "--walkthrough"], {**sandbox.env(), "ZORORA_E2E_HISTORY": "0"})
        for _ in range(2):  # phases 0 and 1 run: test data is written
            child.expect_exact(PAUSE)
            child.sendline("")
        child.expect(r"Next: phase 2 ·")
        child.expect_exact(PAUSE)
        child.sendline("q")
        child.expect_exact(STOPPED.format(phase=2))
        child.expect(r"interrupted after .*; cleanup ran: nothing left in S3")
        child.expect(pexpect.EOF)
        child.close()
        screen = child.logfile_read.text()
        assert screen.count(PAUSE) == 3, screen  # no pause after the stop, not even before the cleanup
        assert "✓ 5.2" in screen
        assert child.exitstatus == 130  # interrupted, as for Ctrl-C
        assert left_in(sandbox) == []


@pytest.mark.slow
def test_ctrl_c_at_a_pause_stops_like_q(tmp_path):
    with Sandbox() as sandbox:
        child = spawn_cli(["run", "--walkthrough"], {**sandbox.env(), "ZORORA_E2E_HISTORY": "0"})
        for _ in range(2):
            child.expect_exact(PAUSE)
            child.sendline("")
        child.expect(r"Next: phase 2 ·")
        child.expect_exact(PAUSE)
        child.sendintr()
        child.expect_exact(STOPPED.format(phase=2))
        child.expect(r"interrupted after .*; cleanup ran: nothing left in S3")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 130
        assert left_in(sandbox) == []


@pytest.mark.slow
def test_after_ctrl_c_during_a_phase_no_more_pauses(tmp_path):
    """An interrupted run goes straight on to its cleanup: no pause before the phases it skips, or the cleanup."""
    with Sandbox(faults=["latency:300"]) as sandbox:
        child = spawn_cli(["run", "--walkthrough"], {**sandbox.env(), "ZORORA_E2E_HISTORY": "0"})
        for _ in range(2):
            child.expect_exact(PAUSE)
            child.sendline("")
        child.expect(r"Phase 1 ·")
        child.sendintr()
        child.expect(r"interrupted after .*; cleanup ran: nothing left in S3")
        child.expect(pexpect.EOF)
        child.close()
        assert child.logfile_read.text().count(PAUSE) == 2
        assert child.exitstatus == 130
        assert left_in(sandbox) == []


def test_a_line_typed_at_a_pause():
    from zorora_e2e_plugin.report.walkthrough import answer

    assert [answer(x) for x in ("\n", "y\n", "q\n", " Q \n", "quit\n", "stop\n")] == [
        "go",
        "go",
        "stop",
        "stop",
        "stop",
        "stop",
    ]


@pytest.mark.slow
def test_show_state_needs_no_terminal_and_never_pauses():
    done = subprocess.run(
        CLI + ["demo", "--show-state", "--no-color"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=subprocess_env(ZORORA_E2E_HISTORY="0", COLUMNS="200"),
        cwd=str(REPO_ROOT),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert PAUSE not in out and "Next: phase" not in out
    for view in (
        "The test world in S3 (after phase 1",
        "Registry before → after ml-promote",
        "Registry before → after ml-rollback",
        "Audit log: 2 event(s)",
        "Phase 4: what was refused",
        "prefixes after cleanup",
    ):
        assert view in out


def test_walkthrough_without_a_terminal_is_refused():
    done = subprocess.run(
        CLI + ["demo", "--walkthrough"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(ZORORA_E2E_HISTORY="0"),
        cwd=str(REPO_ROOT),
    )
    assert done.returncode == 2
    assert "--walkthrough" in done.stderr and "needs a terminal" in done.stderr
    assert "Phase 0" not in done.stdout


# ----------------------------------------------------------------------------------- in the REPL


@pytest.fixture
def repl(host, monkeypatch):
    monkeypatch.setenv("ONA_API_BASE_URL", "http://127.0.0.1:9/prod/api/v1")
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    monkeypatch.setenv("ZORORA_E2E_HISTORY", "0")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    return repl


def _walk(repl, typed: str) -> str:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(typed)
        repl.handle("ml-validate-e2e --sandbox --walkthrough")
    assert repl.responses[-1] == ""  # the command prints its verdict once itself (Zorora prints returns twice)
    return repl.remote_commands["ml-validate-e2e"].last_verdict


@pytest.mark.slow
def test_walkthrough_in_the_repl_through_prompt_toolkit(repl):
    verdict = _walk(repl, "\r" * 6)
    text = output(repl)
    assert "E2E validation passed" in verdict, text
    assert text.count("▶ Next: phase") == 6
    assert "The test world in S3" in text and "Registry before → after ml-promote" in text


def test_q_in_the_repl_stops_and_cleans_up(repl):
    verdict = _walk(repl, "\r\rq\r")
    text = output(repl)
    assert "Stopped at the pause before phase 2: " in text  # said as a person says it: where it stopped
    assert "interrupted" in verdict and "nothing left in S3" in verdict, text
    assert text.count("▶ Next: phase") == 3


def test_walkthrough_in_the_repl_without_a_terminal_is_refused(repl):
    repl.handle("ml-validate-e2e --sandbox --walkthrough")
    verdict = repl.remote_commands["ml-validate-e2e"].last_verdict
    assert "needs a terminal" in verdict and verdict.startswith("Error: ") and verdict in output(repl)
    assert "Phase 0" not in output(repl)


@pytest.mark.slow
def test_time_spent_paused_does_not_count_against_the_deadline():
    """A presenter talking for longer than --deadline before phase 1 still gets a full, passing run."""
    import io
    import time

    from zorora_e2e_plugin.config.flags import RunFlags
    from zorora_e2e_plugin.report.console import make_console
    from zorora_e2e_plugin.report.walkthrough import Options
    from zorora_e2e_plugin.run.in_sandbox import validate_in_sandbox

    def pause(console, prompt, signals):
        if "phase 1" in console.file.getvalue().rsplit("▶", 1)[-1]:
            time.sleep(3.5)  # longer than the whole --deadline
        return "go"

    console = make_console(no_color=True, file=io.StringIO())
    result = validate_in_sandbox(
        RunFlags(), console=console, env={"ZORORA_E2E_DEADLINE": "3"}, presenter=Options(pause=pause, show_state=True)
    )
    text = console.file.getvalue()
    assert result.verdict == PASSED, text
    # nor in the run's time: the verdict line, the JSON/history duration and phase 0's row of the summary
    # (the pause came after phase 0's last step) hold only what the run itself took, under the 3 s deadline
    assert result.duration_ms < 3000, text
    row = re.search(r"^0 Preflight \(hard gate\).*?passed\s+([\d.]+) ?(ms|s)\s*$", text, re.M)
    assert row and float(row.group(1)) / (1000 if row.group(2) == "ms" else 1) < 3, text
