"""Runs a plan: the hard gate, dependencies and skips, concurrent waves, the
deadline, Ctrl-C, and a cleanup that always runs.

The runner knows nothing about rich, Zorora or S3: steps are callables on a
context object, and every outcome goes to a reporter as a plain StepResult.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from typing import Callable, Dict, List, Optional, Sequence

from . import diagnose
from .diagnosis import describe, unhinted
from .inflight import waiting_on
from .model import Phase, Reporter, RunHeader, Step
from .results import FAIL, PASS, SKIP, WARN, StepOutcome, StepResult, signal_name

__all__ = ["Runner", "Step", "Phase", "Reporter", "RunHeader", "clip"]  # Step, Phase, Reporter: from model


FIELD_LIMIT = 600
TRACEBACK_LIMIT = 8000  # the traceback of an unexpected error: --json and --debug only


def clip(text: str, limit: int = FIELD_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _tail(text: str, limit: int) -> str:
    """The end of a (redacted) traceback: the innermost frames are the ones that matter."""
    return text if len(text) <= limit else "…" + text[-limit:]


class _Worker(threading.Thread):
    """A daemon thread running one step, so that the main thread can always take Ctrl-C."""

    def __init__(self, step: Step, ctx, redact: Callable[[str], str], phase: int, reword: Callable[[str], str]):
        super().__init__(daemon=True, name=f"zorora-e2e-step-{step.id}")
        self.step, self.ctx, self.redact, self.phase, self.reword = step, ctx, redact, phase, reword
        self.result: Optional[StepResult] = None
        self.started = time.monotonic()
        self.ended: Optional[float] = None  # monotonic time its step returned
        self.done = threading.Event()  # set once `result` is final; waited on instead of join()/is_alive()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.ended = time.monotonic()
            self.done.set()

    def wait(self, timeout: float) -> bool:
        """Not Thread.join(): on CPython 3.11 a Ctrl-C inside join() can mark a thread that is still
        running as finished (is_alive() False, no result yet). Short sleeps are safe to interrupt."""
        end = time.monotonic() + timeout
        while not self.done.is_set() and time.monotonic() < end:
            time.sleep(0.002)
        return self.done.is_set()

    def _run(self) -> None:
        started = self.started
        status, expected, actual, hint, config_error, where = PASS, "", "", "", False, ""
        try:
            detail = self.step.fn(self.ctx)
            actual = "" if detail is None else str(detail)
        except StepOutcome as exc:
            status, expected, actual, hint = exc.status, exc.expected, exc.actual, exc.hint
            config_error = exc.config_error
            if status == FAIL and not self.step.critical:
                status = WARN
        except BaseException as exc:  # a bug or an unexpected answer: still a result, never a traceback
            status, actual = FAIL, f"{type(exc).__name__}: {exc}"
            hint = diagnose.INTERNAL
            where = traceback.format_exc()

        def clean(text: str) -> str:  # redact first, then cut: a cut token would slip past the redaction
            return clip(self.redact(text))

        known = describe(hint, config_error and status == FAIL, self.phase)  # the id of the hint as the step gave it
        if known is None and status == FAIL:
            known = unhinted(config_error, self.phase)
        hint = self.reword(hint)  # in the words of the face the run came from (face.py), as it is redacted
        if known is not None:
            known["hint"] = clean(hint)

        self.result = StepResult(
            id=self.step.id, phase=self.phase, title=self.step.title, status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            expected=clean(expected), actual=clean(actual), hint=clean(hint),
            config_error=config_error and status == FAIL,
            traceback=_tail(self.redact(where), TRACEBACK_LIMIT), diagnosis=known)


def _start(worker: _Worker, pending: List[_Worker], to_start: List[Step], signals=None) -> None:
    """Start `worker` and move its step from `to_start` to `pending`, as one step as far as signals are
    concerned: a Ctrl-C/SIGTERM that arrives meanwhile is held and delivered afterwards. (Interrupted inside
    Thread.start(), a thread may or may not be running, and starting it again crashes in threading.)"""
    if signals is not None and threading.current_thread() is threading.main_thread():
        with signals.held():
            pending.append(worker)
            to_start.pop(0)
            worker.start()
        return
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        # Ctrl-C only ever lands in the main thread; None: a handler not set from Python, left alone
        pending.append(worker)
        to_start.pop(0)
        worker.start()
        return
    held: List[int] = []  # no guard (a Runner used on its own): hold SIGINT alone
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        pending.append(worker)
        to_start.pop(0)
        worker.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    if held and callable(previous):
        previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt here


class Runner:
    def __init__(self, ctx, reporter: Reporter, *, deadline: float, redact: Callable[[str], str], signals=None,
                 reword: Callable[[str], str] = str):
        self.ctx = ctx
        self.reword = reword  # a hint in the words of the run's face (face.Face.hint)
        self.signals = signals  # run_signals.SignalGuard: SIGINT/SIGTERM/SIGHUP, recorded even when not raised
        self.reporter = reporter
        self.redact = redact
        self.deadline_at = time.monotonic() + deadline
        self.deadline = deadline
        self.results: Dict[str, StepResult] = {}
        self.interrupted = False
        self.gate_failed = False
        self.out_of_time = False
        self.signal_marks: Dict[str, int] = {}
        self.abandoned: List[_Worker] = []  # steps still running when the deadline ended their wave
        self.phases_started: set = set()
        self.cancelled = False  # the user answered no after the preflight: nothing else runs, nothing is written

    # -- public -------------------------------------------------------------------
    def run_phases(self, phases: Sequence[Phase]) -> None:
        for phase in phases:
            self._poll_signals()
            reason = self._why_skip_phase(phase)
            self.phases_started.add(phase.id)
            self.reporter.phase_started(phase)
            if reason:
                for wave in phase.waves:
                    for step in wave:
                        self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))
                continue
            self._run_phase(phase)
            if phase.id == 0 and any(self.results[s.id].status == FAIL
                                     for wave in phase.waves for s in wave if s.id in self.results):
                self.gate_failed = True

    def complete(self, phases: Sequence[Phase]) -> None:
        """Every planned step gets a result, in every report: a step a Ctrl-C (or an error between phases) kept
        from running is "⏭ interrupted" (or "not run"), under its phase."""
        reason = "interrupted" if self.interrupted else "not run"
        for phase in phases:
            missing = [step for wave in phase.waves for step in wave if step.id not in self.results]
            if not missing:
                continue
            if phase.id not in self.phases_started:
                self.phases_started.add(phase.id)
                self.reporter.phase_started(phase)
            for step in missing:
                self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))

    def run_cleanup(self, phase: Phase, budget: float) -> None:
        """Cleanup ignores the deadline and Ctrl-C (it has its own budget): it must run."""
        self.reporter.phase_started(phase)
        for wave in phase.waves:
            self._run_wave(phase, wave, time.monotonic() + budget, shielded=True)

    def drain(self, timeout: float) -> int:
        """Wait, at most `timeout` seconds, for steps the deadline abandoned, so that their requests do not
        land after cleanup. Returns how many are still running."""
        end = time.monotonic() + timeout
        for worker in self.abandoned:
            worker.wait(max(0.0, end - time.monotonic()))
        return sum(not worker.done.is_set() for worker in self.abandoned)

    def passed(self, step_id: str) -> bool:
        result = self.results.get(step_id)
        return result is not None and result.status in (PASS, WARN)

    # -- internals ------------------------------------------------------------------
    def _why_skip_phase(self, phase: Phase) -> str:
        if self.cancelled:
            return "cancelled: answered no after the preflight"
        if self.interrupted:
            return "interrupted"
        if self.out_of_time:
            return f"overall deadline of {self.deadline:g} s reached"
        if self.gate_failed:
            return "preflight gate failed: fix phase 0 first"
        if phase.id in (2, 3, 4) and not all(
                r.status in (PASS, WARN) for r in self.results.values() if r.phase == 1):
            return "test data setup (phase 1) did not complete"
        return ""

    def _record(self, result: StepResult) -> None:
        if self.results.get(result.id) is result:
            return  # recorded already; a Ctrl-C landed while its line was printed
        self.results[result.id] = result
        if self.signals is not None:  # how many signals had arrived when this result was final (before printing)
            self.signal_marks[result.id] = len(self.signals.received)
        self.reporter.step_finished(result)

    def _run_phase(self, phase: Phase) -> None:
        if phase.setup is not None:
            try:
                phase.setup(self.ctx)
            except Exception as exc:
                text = self.redact(f"{exc}")
                for wave in phase.waves:
                    for step in wave:
                        self._record(StepResult(step.id, phase.id, step.title, FAIL,
                                                actual=f"could not prepare phase {phase.id}: {text}",
                                                hint=getattr(exc, "hint", "")))
                return
        for wave in phase.waves:
            self._poll_signals()
            if self.interrupted or self.out_of_time:
                reason = "interrupted" if self.interrupted else "overall deadline reached"
                for step in wave:
                    self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))
                continue
            self._run_wave(phase, wave, self.deadline_at, shielded=False)

    def _run_wave(self, phase: Phase, wave: Sequence[Step], until: float, shielded: bool) -> None:
        """Start the wave's steps, then wait for them. A Ctrl-C may land anywhere in here (even inside
        Thread.start); it never abandons a started step: in-flight requests finish before cleanup."""
        to_start, pending = list(wave), []
        while to_start or pending:
            try:
                if to_start:
                    step = to_start[0]
                    missing = [r for r in step.requires if not self.passed(r)]
                    if (self.interrupted and not shielded) or missing:
                        reason = "interrupted" if not missing else \
                            f"skipped: step {', '.join(missing)} did not pass"
                        self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))
                        to_start.pop(0)
                        continue
                    self.reporter.step_started(step)
                    _start(_Worker(step, self.ctx, self.redact, phase.id, self.reword), pending, to_start, self.signals)
                    continue
                worker = pending[0]
                done = worker.wait(min(0.1, max(0.0, until - time.monotonic())))
                if not shielded:
                    self._poll_signals()  # a signal whose exception Python dropped is still a signal
                if done:
                    self._record(worker.result)
                    pending.pop(0)
                elif time.monotonic() >= until:
                    self._deadline_reached(phase, pending, to_start, shielded)
                    return
            except KeyboardInterrupt as exc:
                if shielded:
                    self.interrupted = True  # the verdict says so; the cleanup still finishes
                    self.reporter.notice(f"{_name(exc)}: cleanup is running and will finish first")
                else:
                    self._interrupt(exc)

    def _deadline_reached(self, phase: Phase, pending: List[_Worker], to_start: List[Step], shielded: bool) -> None:
        """The deadline (or cleanup budget) ended the wave: the steps that finished keep their results; only
        those still running fail, each naming the request it was waiting on; the steps not started are
        skipped."""
        finished = [w for w in pending if w.done.is_set()]
        hung = [w for w in pending if not w.done.is_set()]
        for worker in finished:
            self._record(worker.result)
        self.abandoned.extend(hung)
        if not shielded:
            self.out_of_time = True
        waits = {w.step.id: waiting_on(w) for w in hung}
        for late in hung:
            request = waits[late.step.id]
            what = f"still waiting on {request}" if request else "still running"
            others = [f"{sid} on {r}" for sid, r in waits.items() if r and sid != late.step.id]
            self._record(StepResult(
                late.step.id, phase.id, late.step.title, FAIL,
                duration_ms=int((time.monotonic() - late.started) * 1000),
                actual=clip(self.redact(f"no result before the deadline: {what}")),
                hint=clip(self.redact(
                    f"the run's overall deadline ({self.deadline:g} s) or cleanup budget ran out while "
                    + (f"{request} had not answered" if request else "this step was still running")
                    + (f" (also waiting: {', '.join(others)})" if others else "")
                    + ": the API or S3 is hanging there; check the target, or raise --deadline/--timeout"))))
        for step in to_start:
            self._record(StepResult(step.id, phase.id, step.title, SKIP, actual="deadline reached"))

    def _poll_signals(self) -> None:
        if self.signals is not None and self.signals.received and not self.interrupted:
            self._interrupt(self.signals.received[0])

    def _interrupt(self, cause=None) -> None:
        if not self.interrupted:
            self.interrupted = True
            self.reporter.notice(f"{_name(cause)}: finishing the requests in flight, then cleaning up "
                                 "(the requests end within --timeout)")


def _name(cause) -> str:
    """Ctrl-C, SIGTERM or SIGHUP, from a signal number or a (Run)KeyboardInterrupt."""
    signum = cause if isinstance(cause, int) else getattr(cause, "signum", signal.SIGINT)
    return signal_name(signum)
