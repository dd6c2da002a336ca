"""Plain outcome records. The runner produces them; every reporter only reads them."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"

EXIT_CODES = {"passed": 0, "failed": 1, "gate_failed": 3, "interrupted": 130}

PHASE_NAMES = {
    0: "Preflight (hard gate)",
    1: "Test data setup",
    2: "Read-only commands",
    3: "Promote and rollback",
    4: "Error handling",
    5: "Cleanup",
}


class StepFailed(Exception):
    """A check did not hold: what was expected, what came back, and what to do about it."""

    status = FAIL

    def __init__(self, expected: str = "", actual: str = "", hint: str = "", config_error: bool = False):
        super().__init__(actual or expected)
        self.expected, self.actual, self.hint = expected, actual, hint
        self.config_error = config_error  # the user's settings are wrong (exit 2), not the platform


class StepWarning(StepFailed):
    """Worth a look, but not a failure (the plan's non-critical checks)."""

    status = WARN


class StepSkipped(StepFailed):
    status = SKIP


@dataclasses.dataclass
class StepResult:
    id: str
    phase: int
    title: str
    status: str
    duration_ms: int = 0
    expected: str = ""
    actual: str = ""
    hint: str = ""
    config_error: bool = False

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Cleanup:
    deleted: int = 0
    leftover: List[str] = dataclasses.field(default_factory=list)
    kept: bool = False
    prefixes: List[str] = dataclasses.field(default_factory=list)
    sweep_command: str = ""  # removes exactly this run's leftovers, from the same S3
    proven_empty: bool = True  # False: cleanup could not prove the prefixes empty; `leftover` lists what may be
    # left (keys not proven deleted; `prefix/*` where only a listing could name them)


@dataclasses.dataclass
class RunResult:
    verdict: str
    customer_id: str
    client: str
    duration_ms: int
    steps: List[StepResult]
    cleanup: Cleanup
    target: str = ""
    bucket: str = ""
    note: Optional[str] = None
    report_errors: List[str] = dataclasses.field(default_factory=list)  # --json/--junit files not written
    signal: Optional[int] = None  # SIGINT/SIGTERM/SIGHUP received (the first): the exit code is 128 + it

    @property
    def signal_name(self) -> Optional[str]:
        if self.signal is None:
            return None
        import signal as _signal

        try:
            return _signal.Signals(self.signal).name
        except ValueError:
            return str(self.signal)

    @property
    def config_error(self) -> bool:
        """The gate failed because of the settings (unknown host, TLS, bucket, credentials): exit 2."""
        return self.verdict == "gate_failed" and any(s.config_error for s in self.steps if s.status == FAIL)

    @property
    def exit_code(self) -> int:
        """128 + the signal that ended (or arrived after) the run: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP."""
        if self.signal is not None:
            return 128 + self.signal
        code = 2 if self.config_error else EXIT_CODES[self.verdict]
        return 2 if code == 0 and self.report_errors else code  # a report asked for and missing is no pass

    def phase_status(self, phase: int) -> str:
        statuses = [s.status for s in self.steps if s.phase == phase]
        for status in (FAIL, WARN, PASS):
            if status in statuses:
                return status
        return SKIP

    @property
    def phases(self) -> List[Dict]:
        seen = sorted({s.phase for s in self.steps})
        return [{"id": p, "name": PHASE_NAMES[p], "status": self.phase_status(p)} for p in seen]

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def to_dict(self) -> Dict:
        return {
            "verdict": self.verdict,
            "config_error": self.config_error,
            "customer_id": self.customer_id,
            "client": self.client,
            "duration_ms": self.duration_ms,
            "target": self.target,
            "bucket": self.bucket,
            "phases": self.phases,
            "steps": [s.to_dict() for s in self.steps],
            "signal": self.signal_name,
            "cleanup": {"deleted": self.cleanup.deleted, "leftover": list(self.cleanup.leftover),
                        "kept": self.cleanup.kept, "proven_empty": self.cleanup.proven_empty},
        }
