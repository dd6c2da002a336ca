"""The runner's rules on plain steps: gate, skips, concurrency, deadline, Ctrl-C, shielded cleanup."""

import _thread
import threading
import time

import pytest

from zorora_e2e_plugin.core.diagnosis import Diagnosis, Whose
from zorora_e2e_plugin.core.outcomes import FAIL, PASS, SKIP, WARN, StepFailed, StepWarning
from zorora_e2e_plugin.core.steps import Phase, Reporter, Step
from zorora_e2e_plugin.run.waves import Runner


class Recorder(Reporter):
    def __init__(self):
        self.results, self.notices = [], []

    def step_finished(self, result):
        self.results.append(result)

    def notice(self, text):
        self.notices.append(text)


def ok(ctx):
    return "fine"


def fail(ctx):
    raise StepFailed("x", "y", Diagnosis("ZE-TEST-001", Whose.PLATFORM, "z"))


def make(deadline=30.0):
    reporter = Recorder()
    return Runner(object(), reporter, deadline=deadline, redact=lambda t: t.replace("SECRET", "***")), reporter


def test_a_failed_gate_skips_every_later_phase():
    runner, rec = make()
    runner.run_phases(
        [Phase(0, "gate", ((Step("0.1", "a", fail),),), gate=True), Phase(1, "setup", ((Step("1.1", "b", ok),),))]
    )
    assert runner.gate_failed
    assert [(r.id, r.status) for r in rec.results] == [("0.1", FAIL), ("1.1", SKIP)]


def test_requires_and_non_critical_steps():
    runner, rec = make()
    runner.run_phases(
        [
            Phase(
                3,
                "p",
                (
                    (Step("3.1", "a", fail),),
                    (Step("3.2", "b", fail, critical=False), Step("3.3", "c", ok, requires=("3.1",))),
                ),
            )
        ]
    )
    assert {r.id: r.status for r in rec.results} == {"3.1": FAIL, "3.2": WARN, "3.3": SKIP}


def test_steps_of_a_wave_run_concurrently_and_results_are_redacted():
    barrier = threading.Barrier(3, timeout=5)

    def together(ctx):
        barrier.wait()
        raise StepWarning("e", "token SECRET leaked", Diagnosis("ZE-TEST-001", Whose.PLATFORM, "hint SECRET"))

    runner, rec = make()
    runner.run_phases(
        [Phase(2, "p", ((Step("2.1", "a", together), Step("2.2", "b", together), Step("2.3", "c", together)),))]
    )
    assert [r.status for r in rec.results] == [WARN] * 3
    assert all("SECRET" not in r.actual + r.hint for r in rec.results)


def test_the_deadline_ends_a_hanging_step_and_skips_the_rest():
    runner, rec = make(deadline=0.3)
    started = time.monotonic()
    runner.run_phases(
        [
            Phase(2, "p", ((Step("2.1", "hang", lambda ctx: time.sleep(10)),),)),
            Phase(3, "q", ((Step("3.1", "a", ok),),)),
        ]
    )
    assert time.monotonic() - started < 2
    assert [(r.id, r.status) for r in rec.results] == [("2.1", FAIL), ("3.1", SKIP)]
    assert "deadline" in rec.results[0].actual


@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
def test_ctrl_c_waits_for_the_step_in_flight_then_skips_the_rest_and_cleanup_still_runs():
    finished = threading.Event()

    def interrupted_step(ctx):
        _thread.interrupt_main()  # Ctrl-C, delivered to the main thread while it waits
        time.sleep(0.3)
        finished.set()

    cleaned = []
    runner, rec = make()
    runner.run_phases([Phase(3, "p", ((Step("3.1", "a", interrupted_step),), (Step("3.3", "b", ok),)))])
    assert runner.interrupted and finished.is_set()
    assert [(r.id, r.status) for r in rec.results] == [("3.1", PASS), ("3.3", SKIP)]

    def cleanup_step(ctx):
        _thread.interrupt_main()
        time.sleep(0.2)
        cleaned.append(True)

    runner.run_cleanup(Phase(5, "cleanup", ((Step("5.1", "c", cleanup_step),),)), budget=5)
    assert cleaned == [True] and rec.results[-1].status == PASS
    assert any("cleanup is running" in n for n in rec.notices)


def test_an_unexpected_error_keeps_its_traceback_for_json_and_debug_only():
    """A bug inside the validator is a failed step whose traceback (redacted) is in the result, never in the
    console line; the console prints it only with --debug."""
    import io

    from zorora_e2e_plugin.core.outcomes import StepOutcome, StepResult, StepSkipped
    from zorora_e2e_plugin.report.console import ConsoleReporter, make_console

    def bug(ctx):
        raise KeyError("SECRET key")

    runner, rec = make()
    runner.run_phases([Phase(2, "p", ((Step("2.1", "a", bug),),))])
    result = rec.results[0]
    assert result.status == FAIL and "unexpected error" in result.hint
    assert "Traceback" in result.traceback and "in bug" in result.traceback and "SECRET" not in result.traceback
    assert result.to_dict()["traceback"] == result.traceback
    assert not issubclass(StepSkipped, StepFailed) and not issubclass(StepWarning, StepFailed)
    assert issubclass(StepSkipped, StepOutcome) and issubclass(StepWarning, StepOutcome)
    for debug in (False, True):
        out = io.StringIO()
        ConsoleReporter(make_console(no_color=True, file=out), debug=debug).step_finished(result)
        assert ("Traceback" in out.getvalue()) is debug
    assert StepResult("1.1", 1, "t", PASS).traceback == ""
