"""What a person sees while a run goes on: step lines in plan order, a live line for the running steps (on a
terminal only), verdicts with warnings that do not look like a clean pass, and whole lines in logs."""

from __future__ import annotations

import io
import os
import re
import subprocess
import time

import pytest
from helpers.cli import SCRIPT
from helpers.engine import STEPS

from zorora_e2e_plugin.core.outcomes import FAIL, INTERRUPTED, PASS, PASSED, SKIP, WARN, Cleanup, RunResult, StepResult
from zorora_e2e_plugin.core.steps import Phase, Step
from zorora_e2e_plugin.report import live
from zorora_e2e_plugin.report.console import ConsoleReporter, make_console
from zorora_e2e_plugin.report.verdict_line import phase_mark, verdict_line, verdict_style

ANSI = re.compile(r"\x1b")
CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def nothing(ctx):
    return None


def phase(pid, *waves):
    return Phase(pid, f"phase {pid}", tuple(tuple(Step(i, f"title {i}", nothing) for i in wave) for wave in waves))


def result(step_id, status=PASS, **fields):
    return StepResult(step_id, int(step_id.split(".")[0]), f"title {step_id}", status, **fields)


def plain_console():
    """A console on a pipe (80 columns, as rich assumes without a terminal)."""
    buffer = io.StringIO()
    return make_console(file=buffer, force_terminal=False), buffer


def step_ids(text):
    return re.findall(r"^  [✓✗⚠⏭] (\d+\.\d+) ", text, flags=re.M)


# ------------------------------------------------------------------------------------------ plan order


def test_step_lines_come_in_plan_order_however_the_steps_finished():
    console, buffer = plain_console()
    view = ConsoleReporter(console)
    view.phase_started(phase(0, ["0.1", "0.3", "0.4", "0.5"], ["0.2"]))
    for step_id in ("0.3", "0.5"):
        view.step_finished(result(step_id))
    assert step_ids(buffer.getvalue()) == []  # 0.1 has not reported: nothing may jump ahead of it
    view.step_finished(result("0.1"))
    assert step_ids(buffer.getvalue()) == ["0.1"]  # 0.2 (the next wave) still runs: 0.3 waits
    view.step_finished(result("0.4"))
    view.step_finished(result("0.2"))
    assert step_ids(buffer.getvalue()) == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    view.phase_started(phase(4, ["4.1", "4.2"], ["4.6"], ["4.5"]))
    for step_id in ("4.2", "4.1", "4.6", "4.5"):
        view.step_finished(result(step_id))
    assert step_ids(buffer.getvalue())[5:] == ["4.1", "4.2", "4.5", "4.6"]


def test_lines_held_for_a_step_that_never_reported_come_out_at_the_next_phase_and_at_the_end():
    console, buffer = plain_console()
    view = ConsoleReporter(console)
    view.phase_started(phase(3, ["3.1"], ["3.2"], ["3.3"]))
    view.step_finished(result("3.3"))  # 3.1 and 3.2 never report (a run cut short)
    view.phase_started(phase(5, ["5.1"], ["5.2"]))
    assert step_ids(buffer.getvalue()) == ["3.3"]
    view.phase_started(phase(4, ["4.1", "4.2"]))
    view.step_finished(result("4.2"))
    view.close()
    assert step_ids(buffer.getvalue()) == ["3.3", "4.2"]


@pytest.mark.slow
def test_a_piped_demo_lists_every_phase_in_plan_order_and_writes_no_control_code():
    done = subprocess.run(
        [SCRIPT, "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": os.environ.get("HOME", "/tmp"), "ZORORA_E2E_HISTORY": "0"},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ids = step_ids(done.stdout)
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("."))) and len(ids) == STEPS
    assert not ANSI.search(done.stdout)
    # the longest line of a passing run (0.5's detail) is whole, not cut at 80 columns
    line = next(text for text in done.stdout.splitlines() if " 0.5 " in text)
    assert len(line) > 80 and line.endswith("the customer's prefixes are empty") and "…" not in line


# ------------------------------------------------------------------------------------------ warnings


def run_result(steps, verdict=PASSED):
    return RunResult(
        verdict=verdict,
        customer_id="zorora-e2e-test-x",
        client="direct",
        duration_ms=1234,
        steps=steps,
        cleanup=Cleanup(),
    )


def test_a_pass_with_warnings_is_yellow_and_says_so():
    steps = [result("0.1"), result("0.3", WARN, actual="HTTP 500"), result("1.1")]
    done = run_result(steps)
    line = verdict_line(done)
    assert line.startswith("⚠ E2E validation passed with 1 warning (step 0.3): 3/3 steps"), line
    assert verdict_style(done) == "bold yellow"
    clean = run_result([result("0.1"), result("1.1")])
    assert verdict_line(clean).startswith("✓ E2E validation passed: 2/2 steps") and verdict_style(clean) == "bold green"
    two = run_result([result("0.1", WARN), result("0.3", WARN)])
    assert verdict_line(two).startswith("⚠ Preflight passed with 2 warnings (step 0.1, 0.3)")


def table_rows(text):
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\d) [A-Za-z() -]+?\s+([✓✗⚠⏭])\s", text, flags=re.M)}


def test_the_phase_table_gives_a_green_check_only_to_phases_that_ran_whole_and_passed():
    steps = [
        result("0.1"),
        result("0.3", WARN, actual="odd"),
        result("1.1"),
        result("3.1"),
        result("3.2", SKIP, actual="interrupted"),
        result("4.1", SKIP, actual="interrupted"),
    ]
    console, buffer = plain_console()
    ConsoleReporter(console).run_finished(run_result(steps, verdict=INTERRUPTED))
    rows = table_rows(buffer.getvalue())
    assert rows == {"0": "⚠", "1": "✓", "3": "⚠", "4": "⏭"}, buffer.getvalue()
    assert "1 warning" in buffer.getvalue() and "1/2 passed, 1 skipped" in buffer.getvalue()
    assert phase_mark(FAIL, [result("3.1", FAIL), result("3.2", SKIP)]) == FAIL


# ------------------------------------------------------------------------------------------ whole lines

LONG = "the API answered " + " ".join(f"word{i}" for i in range(60)) + " END"


def test_off_a_terminal_details_are_written_whole_never_cut_at_80_columns():
    console, buffer = plain_console()
    view = ConsoleReporter(console)
    view.step_finished(result("0.4", FAIL, expected="a bucket", actual=LONG, hint="fix " + LONG))
    view.step_finished(result("2.1", PASS, actual=LONG))
    text = buffer.getvalue()
    assert sum(LONG in line for line in text.splitlines()) == 3, text
    assert "…" not in text and not ANSI.search(text)


def test_on_a_terminal_a_detail_wraps_below_its_step():
    buffer = io.StringIO()
    console = make_console(file=buffer, force_terminal=True, no_color=True)
    console.width = 80  # rich reads the size of a forced terminal from the environment
    ConsoleReporter(console).step_finished(result("0.4", FAIL, actual=LONG))
    text = CODES.sub("", buffer.getvalue())
    assert "END" in text and all(len(line) <= 80 for line in text.splitlines())


# ------------------------------------------------------------------------------------------ the live line


@pytest.mark.xdist_group("live_line")  # the live line's ticker: its timing, one at a time
def test_the_live_line_shows_a_running_step_with_its_time_then_gives_way_to_its_result(monkeypatch):
    monkeypatch.setattr(live, "TICK", 0.02)
    buffer = io.StringIO()
    console = make_console(file=buffer, force_terminal=True)
    console.width = 100
    view = ConsoleReporter(console)
    view.phase_started(phase(2, ["2.1", "2.2"]))
    view.step_started(Step("2.1", "ml-list-challengers: the test challenger", nothing))
    view.step_started(Step("2.2", "ml-show-metrics: challenger", nothing))
    time.sleep(0.25)
    running = buffer.getvalue()
    assert re.search(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\S* 2\.1  ml-list-challengers: the test challenger.*(\d+ ms|\d+\.\d s)", running)
    assert "2.2  ml-show-metrics" in running and "\x1b[?25l" in running  # both shown, cursor hidden meanwhile
    view.step_finished(result("2.1"))
    view.step_finished(result("2.2"))
    view.close()
    out = buffer.getvalue()
    after = out[len(running) :]
    assert "\x1b[2K" in after and "title 2.1" in after  # the live lines erased, the result lines printed
    assert out.endswith("\x1b[?25h") or "\x1b[?25h" in out[-40:]  # the cursor is back
    assert console._live_stack == [] and not view.live.running  # the console holds no Live any more


@pytest.mark.xdist_group("live_line")  # the live line's ticker: its timing, one at a time
def test_no_live_line_and_no_control_code_when_not_a_terminal(monkeypatch):
    monkeypatch.setattr(live, "TICK", 0.02)
    console, buffer = plain_console()
    view = ConsoleReporter(console)
    view.phase_started(phase(2, ["2.1"]))
    view.step_started(Step("2.1", "title 2.1", nothing))
    time.sleep(0.1)
    view.step_finished(result("2.1"))
    view.close()
    text = buffer.getvalue()
    assert not ANSI.search(text) and not re.search("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]", text)
    assert text.count(" 2.1  ") == 1


class DeadFile(io.StringIO):
    def write(self, text):  # (not BrokenPipeError: rich would put /dev/null over the test's own stdout)
        raise OSError(9, "Bad file descriptor")


@pytest.mark.xdist_group("live_line")  # the live line's ticker: its timing, one at a time
def test_a_dead_terminal_stops_the_live_line_and_leaves_the_console_without_a_live(monkeypatch):
    monkeypatch.setattr(live, "TICK", 0.01)
    console = make_console(file=io.StringIO(), force_terminal=True)
    steps = live.LiveSteps(console)
    steps.started("0.1", "a")
    console.file = DeadFile()
    time.sleep(0.1)  # the ticker meets the dead file and stops quietly
    steps.stop()
    assert console._live_stack == [] and steps.broken
    steps.started("0.2", "b")  # never draws again
    assert steps._live is None


pexpect = pytest.importorskip("pexpect")


@pytest.mark.slow
@pytest.mark.xdist_group("live_line")  # the live line's ticker: its timing, one at a time
def test_in_a_terminal_the_demo_shows_the_running_step_and_its_elapsed_time(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "ZORORA_E2E_HISTORY": "0", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        SCRIPT,
        ["demo", "--fault", "latency:400", "--phase", "0"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    try:
        child.expect(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\S* 0\.\d  .*(\d+ ms|\d+\.\d s)")  # a live line while phase 0 runs
        child.expect("Preflight passed")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_the_runner_announces_each_step_it_starts_and_only_those():
    from zorora_e2e_plugin.core.outcomes import StepFailed
    from zorora_e2e_plugin.core.steps import Reporter
    from zorora_e2e_plugin.run.waves import Runner

    class Seen(Reporter):
        def __init__(self):
            self.started, self.finished = [], []

        def step_started(self, step):
            self.started.append(step.id)

        def step_finished(self, result):
            self.finished.append(result.id)

    def fail(ctx):
        raise StepFailed("x", "y")

    seen = Seen()
    plan = [
        Phase(
            1,
            "p",
            ((Step("1.1", "a", fail),), (Step("1.2", "b", nothing, requires=("1.1",)), Step("1.3", "c", nothing))),
        )
    ]
    Runner(object(), seen, deadline=30, redact=lambda t: t).run_phases(plan)
    assert seen.started == ["1.1", "1.3"] and sorted(seen.finished) == ["1.1", "1.2", "1.3"]
