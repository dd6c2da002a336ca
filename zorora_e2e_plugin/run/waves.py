"""Runs a plan: the hard gate, dependencies and skips, concurrent waves, the
deadline, Ctrl-C, and a cleanup that always runs.

The runner knows nothing about rich, Zorora or S3: steps are callables on a
context object, and every outcome goes to a reporter as a plain StepResult.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from typing import Any, Callable

from ..config.faces import CLI
from ..core import catalogue
from ..core.diagnosis import Diagnosis, describe
from ..core.outcomes import FAIL, PASS, SKIP, WARN, StepResult, signal_name
from ..core.steps import Phase, Reporter, Step
from .signals import SignalGuard, uninterrupted
from .step_worker import StepWorker, clip, waiting_on

__all__ = ["Runner"]


class Runner:
    """Runs phases of steps, records each result once (telling the reporter), and answers what the run's owner asks:
    which steps passed, which the deadline cut off, how long each phase took, how many signals had arrived when a
    step's result was final."""

    def __init__(
        self,
        ctx: object,
        reporter: Reporter,
        *,
        deadline: float,
        redact: Callable[[str], str],
        signals: SignalGuard | None = None,
        reword: Callable[[Diagnosis], str] = CLI.hint,
    ) -> None:
        self.ctx = ctx  # the plan's Context: the runner only hands it to the steps
        self.reword = reword  # a diagnosis's hint in the words of the run's face (config/faces.py, Face.hint)
        self.signals = signals  # run_signals.SignalGuard: SIGINT/SIGTERM/SIGHUP, recorded even when not raised
        self.reporter = reporter
        self.redact = redact
        self.deadline_at = time.monotonic() + deadline
        self.deadline = deadline
        self.results: dict[str, StepResult] = {}
        self.interrupted = False
        self.gate_failed = False
        self.out_of_time = False
        self.cancelled = False  # the user answered no after the preflight: nothing else runs, nothing is written
        self._signal_marks: dict[str, int] = {}
        self._abandoned: list[StepWorker] = []  # steps still running when the deadline ended their wave
        self._phase_times: dict[int, list[Any]] = {}  # phase id -> [start, end] (monotonic; end None: running)
        self._names: dict[int, str] = {}  # phase id -> name, of the phases seen
        self._cleanup_phases: set = set()  # ids of the phases run as the cleanup
        self._gate = 0  # the id of the gate that failed

    # -- public -------------------------------------------------------------------
    def run_phases(self, phases: Sequence[Phase]) -> None:
        for phase in phases:
            self._poll_signals()
            reason = self._why_skip_phase(phase)
            self._phase_started(phase)
            if reason:
                for step in phase.steps:
                    self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))
                continue
            self._run_phase(phase)
            if phase.gate and any(self.results[s.id].status == FAIL for s in phase.steps if s.id in self.results):
                self.gate_failed, self._gate = True, phase.id

    def complete(self, phases: Sequence[Phase]) -> None:
        """Every planned step gets a result, in every report: a step a Ctrl-C (or an error between phases) kept
        from running is "⏭ interrupted" (or "not run"), under its phase."""
        reason = "interrupted" if self.interrupted else "not run"
        for phase in phases:
            missing = [step for step in phase.steps if step.id not in self.results]
            if not missing:
                continue
            if phase.id not in self._phase_times:
                self._phase_started(phase)
            for step in missing:
                self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))

    def run_cleanup(self, phase: Phase, budget: float) -> None:
        """Cleanup ignores the deadline and Ctrl-C (it has its own budget): it must run."""
        self._cleanup_phases.add(phase.id)
        self._phase_started(phase)
        for wave in phase.waves:
            self._run_wave(phase, wave, time.monotonic() + budget, shielded=True)

    def drain(self, timeout: float) -> int:
        """Wait, at most `timeout` seconds, for steps the deadline abandoned, so that their requests do not
        land after cleanup. Returns how many are still running."""
        end = time.monotonic() + timeout
        for worker in self._abandoned:
            worker.wait(max(0.0, end - time.monotonic()))
        return sum(not worker.done.is_set() for worker in self._abandoned)

    def passed(self, step_id: str) -> bool:
        result = self.results.get(step_id)
        return result is not None and result.status in (PASS, WARN)

    def cut_off(self) -> list[Step]:
        """The steps the deadline (or a cleanup budget) cut off: each may still be running."""
        return [w.step for w in self._abandoned]

    def ended_since(self, since: float) -> list[Step]:
        """Steps the deadline cut off (outside the cleanup) that ended at or after `since`: a write of theirs may
        have landed after a listing taken then."""
        return [
            w.step
            for w in self._abandoned
            if w.phase not in self._cleanup_phases and w.ended is not None and w.ended >= since
        ]

    def late_steps(self, since: float | None) -> list[Step]:
        """Steps the deadline cut off (outside the cleanup) still running, or that ended at or after `since`."""
        return [
            w.step
            for w in self._abandoned
            if w.phase not in self._cleanup_phases
            and (not w.done.is_set() or (since is not None and w.ended is not None and w.ended >= since))
        ]

    def signals_when_final(self, step_id: str) -> int:
        """How many signals had arrived when `step_id`'s result was final (0: none, or no guard)."""
        return self._signal_marks.get(step_id, 0)

    def phase_seconds(self) -> dict[int, float]:
        """Wall time of each phase that started: from its first start to its last step (or to the next phase's
        start, or now), so a walkthrough's pause before the next phase is not counted."""
        now = time.monotonic()
        return {pid: (end if end is not None else now) - start for pid, (start, end) in self._phase_times.items()}

    def mark_interrupted(self) -> None:
        """The run was stopped (a signal, the presenter's `q`): the phases left are skipped, the cleanup runs."""
        self.interrupted = True

    def extend_deadline(self, seconds: float) -> None:
        """Time that is not the run's (a presenter talking) moves the deadline on."""
        self.deadline_at += seconds

    # -- internals ------------------------------------------------------------------
    def _phase_started(self, phase: Phase) -> None:
        now = time.monotonic()
        for times in self._phase_times.values():
            if times[1] is None:
                times[1] = now  # a phase ends when the next starts, at the latest
        self._names[phase.id] = phase.name
        first = phase.id not in self._phase_times  # a cleanup run again keeps its first start
        times = self._phase_times.setdefault(phase.id, [now, None])  # started, even if a reporter raises
        times[1] = None
        self.reporter.phase_started(phase)  # a walkthrough pauses in here: not the phase's time
        if first:
            times[0] = time.monotonic()

    def _why_skip_phase(self, phase: Phase) -> str:
        if self.cancelled:
            return "cancelled: answered no after the preflight"
        if self.interrupted:
            return "interrupted"
        if self.out_of_time:
            return f"overall deadline of {self.deadline:g} s reached"
        if self.gate_failed:
            return f"preflight gate failed: fix phase {self._gate} first"
        unmet = [
            p for p in phase.needs if not all(r.status in (PASS, WARN) for r in self.results.values() if r.phase == p)
        ]
        if unmet:
            return (
                " and ".join(f"{self._names.get(p, 'phase').lower()} (phase {p})" for p in unmet) + " did not complete"
            )
        return ""

    def _record(self, result: StepResult) -> None:
        if self.results.get(result.id) is result:
            return  # recorded already; a Ctrl-C landed while its line was printed
        self.results[result.id] = result
        if self.signals is not None:  # how many signals had arrived when this result was final (before printing)
            self._signal_marks[result.id] = len(self.signals.received)
        times = self._phase_times.get(result.phase)
        if times is not None:
            times[1] = time.monotonic()  # a phase ends with its last step, not when the next begins
        self.reporter.step_finished(result)

    def _run_phase(self, phase: Phase) -> None:
        if phase.setup is not None:
            try:
                phase.setup(self.ctx)
            except Exception as exc:
                text = self.redact(f"{exc}")
                diagnosis = getattr(exc, "hint", None)
                if not isinstance(diagnosis, Diagnosis):  # a StepOutcome names its cause; anything else is ours
                    diagnosis = catalogue.UNNAMED if hasattr(exc, "hint") else catalogue.INTERNAL
                hint = self.reword(diagnosis)
                for step in phase.steps:
                    self._record(
                        StepResult(
                            step.id,
                            phase.id,
                            step.title,
                            FAIL,
                            actual=f"could not prepare phase {phase.id}: {text}",
                            hint=hint,
                            diagnosis=describe(diagnosis, hint),
                        )
                    )
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
        to_start = list(wave)
        pending: list[StepWorker] = []
        while to_start or pending:
            try:
                if to_start:
                    step = to_start[0]
                    missing = [r for r in step.requires if not self.passed(r)]
                    if (self.interrupted and not shielded) or missing:
                        reason = "interrupted" if not missing else f"skipped: step {', '.join(missing)} did not pass"
                        self._record(StepResult(step.id, phase.id, step.title, SKIP, actual=reason))
                        to_start.pop(0)
                        continue
                    self.reporter.step_started(step)
                    worker = StepWorker(step, self.ctx, self.redact, phase.id, self.reword)

                    def start(worker: StepWorker = worker) -> None:
                        pending.append(worker)
                        to_start.pop(0)
                        worker.start()

                    uninterrupted(start, self.signals)
                    continue
                worker = pending[0]
                done = worker.wait(min(0.1, max(0.0, until - time.monotonic())))
                if not shielded:
                    self._poll_signals()  # a signal whose exception Python dropped is still a signal
                if done:
                    assert worker.result is not None  # `done` is set once the result is final
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

    def _deadline_reached(self, phase: Phase, pending: list[StepWorker], to_start: list[Step], shielded: bool) -> None:
        """The deadline (or cleanup budget) ended the wave: the steps that finished keep their results; only
        those still running fail, each naming the request it was waiting on; the steps not started are
        skipped."""
        finished = [w for w in pending if w.done.is_set()]
        hung = [w for w in pending if not w.done.is_set()]
        for worker in finished:
            assert worker.result is not None  # `done` is set once the result is final
            self._record(worker.result)
        self._abandoned.extend(hung)
        if not shielded:
            self.out_of_time = True
        waits = {w.step.id: waiting_on(w) for w in hung}
        for late in hung:
            request = waits[late.step.id]
            what = f"still waiting on {request}" if request else "still running"
            others = [f"{sid} on {r}" for sid, r in waits.items() if r and sid != late.step.id]
            cause = catalogue.DEADLINE.fill(
                deadline=f"{self.deadline:g}",
                what=f"{request} had not answered" if request else "this step was still running",
                also=f" (also waiting: {', '.join(others)})" if others else "",
            )
            hint = clip(self.redact(self.reword(cause)))
            self._record(
                StepResult(
                    late.step.id,
                    phase.id,
                    late.step.title,
                    FAIL,
                    duration_ms=int((time.monotonic() - late.started) * 1000),
                    actual=clip(self.redact(f"no result before the deadline: {what}")),
                    hint=hint,
                    diagnosis=describe(cause, hint),
                )
            )
        for step in to_start:
            self._record(StepResult(step.id, phase.id, step.title, SKIP, actual="deadline reached"))

    def _poll_signals(self) -> None:
        if self.signals is not None and self.signals.received and not self.interrupted:
            self._interrupt(self.signals.received[0])

    def _interrupt(self, cause: int | BaseException | None = None) -> None:
        if not self.interrupted:
            self.interrupted = True
            self.reporter.notice(
                f"{_name(cause)}: finishing the requests in flight, then cleaning up "
                "(the requests end within --timeout)"
            )


def _name(cause: int | BaseException | None) -> str:
    """Ctrl-C, SIGTERM or SIGHUP, from a signal number or a (Run)KeyboardInterrupt."""
    return signal_name(cause if isinstance(cause, int) else getattr(cause, "signum", signal.SIGINT))
