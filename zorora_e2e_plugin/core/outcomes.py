"""Plain outcome records. The runner produces them; every reporter only reads them."""

from __future__ import annotations

import dataclasses
import enum

from .diagnosis import Diagnosis, describe
from .text_enum import TextEnum


class Status(TextEnum):
    """A step's status; its value is the word in --json, JUnit and the history."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class Verdict(TextEnum):
    """How a run ended; its value is the word in --json, JUnit and the history."""

    PASSED = "passed"
    FAILED = "failed"
    GATE_FAILED = "gate_failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"  # the preflight passed, then the user answered no to "Proceed?": nothing was written


PASS, FAIL, WARN, SKIP = Status.PASS, Status.FAIL, Status.WARN, Status.SKIP
PASSED, FAILED, GATE_FAILED, INTERRUPTED = Verdict.PASSED, Verdict.FAILED, Verdict.GATE_FAILED, Verdict.INTERRUPTED
CANCELLED = Verdict.CANCELLED

RUN_OVER = "not sent: the run is over (its cleanup has started)"  # what a closed client refuses to send


class ExitCode(enum.IntEnum):
    """The process's exit code, for both faces. A signal that ended (or arrived after) the run: 128 + it."""

    PASSED = 0
    FAILED = 1
    CONFIG_ERROR = 2  # usage or settings error; also a report asked for and not written
    GATE_FAILED = 3
    WOULD_BE_REFUSED = 4  # --for: the readiness check says ml-promote would be refused (or fail)
    NOT_ANSWERABLE = 5  # --for: the readiness check could not tell (no registry, unknown challenger, ...), or
    # there is nothing to promote (the challenger is production already, none is evaluated)
    HANGUP = 128 + 1  # SIGHUP
    INTERRUPTED = 128 + 2  # SIGINT (Ctrl-C)
    TERMINATED = 128 + 15  # SIGTERM

    @staticmethod
    def for_signal(signum: int) -> int:
        """128 + the signal number (an ExitCode member for SIGHUP, SIGINT and SIGTERM)."""
        code = 128 + signum
        try:
            return ExitCode(code)
        except ValueError:
            return code


def signal_name(signum: int, *, plain: bool = False) -> str:
    """A signal as the user knows it (Ctrl-C, SIGTERM, SIGHUP), or `plain` as the system names it (SIGINT: the
    --json's "signal")."""
    import signal

    if signum == signal.SIGINT and not plain:
        return "Ctrl-C"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum) if plain else f"signal {signum}"


def decide_verdict(
    *, interrupted: bool, cancelled: bool, gate_failed: bool, statuses, cleanup_proven_empty: bool
) -> Verdict:
    """How a run ended, from what happened: interrupted (a signal or `q` before the cleanup proved the prefixes
    empty), cancelled (answered no after the preflight), the gate failed, a step failed; a run whose cleanup could
    not prove the prefixes empty is never a pass (test data may be left)."""
    if interrupted:
        return INTERRUPTED
    if cancelled:
        return CANCELLED
    if gate_failed:
        return GATE_FAILED
    if any(status == FAIL for status in statuses) or not cleanup_proven_empty:
        return FAILED
    return PASSED


EXIT_CODES = {
    PASSED: ExitCode.PASSED,
    FAILED: ExitCode.FAILED,
    GATE_FAILED: ExitCode.GATE_FAILED,
    INTERRUPTED: ExitCode.INTERRUPTED,
    CANCELLED: ExitCode.FAILED,
}

READINESS_EXIT = {
    "ready": ExitCode.PASSED,
    "refused": ExitCode.WOULD_BE_REFUSED,
    "unanswerable": ExitCode.NOT_ANSWERABLE,
    "nothing": ExitCode.NOT_ANSWERABLE,
}  # nothing to promote: no ml-promote to judge


class StepOutcome(Exception):
    """A step ending other than with a pass: what was expected, what came back, and what to do about it (a
    Diagnosis from the catalogue (core/catalogue.py); none: None or "", and the runner names it unnamed)."""

    status = FAIL

    def __init__(self, expected: str = "", actual: str = "", hint: Diagnosis | None = None, config_error: bool = False):
        super().__init__(actual or expected)
        if hint is not None and hint != "" and not isinstance(hint, Diagnosis):
            raise TypeError(f"a step's hint is a Diagnosis, not {type(hint).__name__}: {hint!r}")
        self.expected, self.actual, self.hint = expected, actual, hint or None
        self.config_error = config_error  # the user's settings are wrong (exit 2), not the platform


class StepFailed(StepOutcome):
    """A check did not hold."""

    status = FAIL


class StepWarning(StepOutcome):
    """Worth a look, but not a failure (the plan's non-critical checks)."""

    status = WARN


class StepSkipped(StepOutcome):
    """The step could not be judged (what it needed did not happen)."""

    status = SKIP


@dataclasses.dataclass
class StepResult:
    id: str
    phase: int
    title: str
    status: Status
    duration_ms: int = 0
    expected: str = ""
    actual: str = ""
    hint: str = ""  # the diagnosis's hint as the run's face words it (redacted, clipped)
    config_error: bool = False
    traceback: str = ""  # an unexpected error inside the validator: where it happened (redacted; --json/--debug)
    diagnosis: dict[str, str] | None = None  # {id, whose, hint} (diagnosis.describe), for a step with a hint

    def __post_init__(self):
        self.status = Status(self.status)
        if self.diagnosis is None and self.hint:  # a hint given as text alone (tests): no cause was named
            from .catalogue import UNNAMED

            self.diagnosis = describe(UNNAMED, self.hint)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def plan_key(step_id: str):
    """A step id as the plan numbers it: 4.5 before 4.6, 0.10 after 0.9."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in step_id.split("."))


def in_plan_order(steps: list[StepResult]) -> list[StepResult]:
    return sorted(steps, key=lambda s: plan_key(s.id))


@dataclasses.dataclass
class Cleanup:
    """What the cleanup did: filled in by phase 5's steps as they run, then by the engine's judgement of what
    the report may claim (`proven_empty`, `leftover`, `prefixes`, `sweep_command`)."""

    deleted: int = 0
    leftover: list[str] = dataclasses.field(default_factory=list)
    kept: bool = False
    prefixes: list[str] = dataclasses.field(default_factory=list)
    sweep_command: str = ""  # removes exactly this run's leftovers, from the same S3
    proven_empty: bool = True  # False: cleanup could not prove the prefixes empty; `leftover` lists what may be
    # left (keys not proven deleted; `prefix/*` where only a listing could name them)


@dataclasses.dataclass
class RunResult:
    verdict: Verdict
    customer_id: str
    client: str
    duration_ms: int
    steps: list[StepResult]
    cleanup: Cleanup
    target: str = ""
    bucket: str = ""
    note: str | None = None
    report_errors: list[str] = dataclasses.field(default_factory=list)  # --json/--junit files not written
    signal: int | None = None  # SIGINT/SIGTERM/SIGHUP received (the first): the exit code is 128 + it
    started_at: str = ""  # when the run started, UTC ISO-8601 (e.g. 2026-11-26T07:10:00+00:00)
    readiness: dict | None = None  # --for: the readiness block (plan/readiness/phase.py); its answer sets the exit code
    phase_names: dict[int, str] = dataclasses.field(default_factory=dict)  # as the plan names its phases
    phase_seconds: dict[int, float] = dataclasses.field(default_factory=dict)  # wall time of each phase that started
    previous: dict | None = None  # the last recorded run of the same target and kind: {verdict, started}

    def __post_init__(self):
        self.verdict = Verdict(self.verdict)
        self.steps = in_plan_order(self.steps)  # every report lists the steps as the plan numbers them

    def whose(self, status: Status = FAIL) -> list[str]:
        """Whose move the fixes of the steps with `status` are (settings, deployment, platform ...), in the
        order they first appear in the plan."""
        found = [s.diagnosis["whose"] for s in self.steps if s.status == status and s.diagnosis]
        return list(dict.fromkeys(found))

    @property
    def signal_name(self) -> str | None:
        return None if self.signal is None else signal_name(self.signal, plain=True)

    @property
    def config_error(self) -> bool:
        """The gate failed because of the settings (unknown host, TLS, bucket, credentials): exit 2."""
        return self.verdict == GATE_FAILED and any(s.config_error for s in self.steps if s.status == FAIL)

    @property
    def exit_code(self) -> int:
        """128 + the signal that ended (or arrived after) the run: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP."""
        if self.signal is not None:
            return ExitCode.for_signal(self.signal)
        code = ExitCode.CONFIG_ERROR if self.config_error else EXIT_CODES[self.verdict]
        if self.readiness is not None and self.verdict in (PASSED, FAILED):  # the gate passed: the answer decides
            code = READINESS_EXIT[self.readiness["answer"]["kind"]]
        if code == ExitCode.PASSED and self.report_errors:  # a report asked for and missing is no pass
            return ExitCode.CONFIG_ERROR
        return code

    def phase_status(self, phase: int) -> Status:
        statuses = [s.status for s in self.steps if s.phase == phase]
        for status in (FAIL, WARN, PASS):
            if status in statuses:
                return status
        return SKIP

    @property
    def phases(self) -> list[dict]:
        seen = sorted({s.phase for s in self.steps})
        return [{"id": p, "name": self.phase_names.get(p, ""), "status": self.phase_status(p)} for p in seen]

    def count(self, status: Status) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def to_dict(self) -> dict:
        data = {
            "verdict": self.verdict,
            "config_error": self.config_error,
            "customer_id": self.customer_id,
            "client": self.client,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "target": self.target,
            "bucket": self.bucket,
            "phases": self.phases,
            "steps": [s.to_dict() for s in self.steps],
            "signal": self.signal_name,
            "cleanup": {
                "deleted": self.cleanup.deleted,
                "leftover": list(self.cleanup.leftover),
                "kept": self.cleanup.kept,
                "proven_empty": self.cleanup.proven_empty,
            },
        }
        if self.readiness is not None:
            data["readiness"] = self.readiness
        data["previous"] = self.previous  # None: no earlier run of this target and kind recorded (or no history)
        return data
