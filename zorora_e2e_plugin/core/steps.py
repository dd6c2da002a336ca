"""The shapes both sides of the runner see: a plan is Phases of Steps; whoever watches a run is a Reporter
and is told about it with a RunHeader and plain results. The runner, the plan and the reports import these
from here, never from each other.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from typing import Callable

from .outcomes import RunResult, StepResult


@dataclasses.dataclass(frozen=True)
class Step:
    id: str
    title: str
    fn: Callable
    critical: bool = True  # False: a failure is reported as a warning (the plan's non-critical checks)
    requires: tuple[str, ...] = ()  # step ids that must have passed, else this one is skipped
    # What it sends in a full run (the walkthrough's "It sends:", and tests/test_plan_sends.py holds every step
    # to it against the sandbox's request log): "GET /challengers", "POST /promote", "S3 PutObject", ...;
    # "... ×N" for N alike, "... (note)" for the reader. () sends nothing; `quiet` says why (shown instead).
    sends: tuple[str, ...] = ()
    quiet: str = ""
    proves_cleanup: bool = False  # its pass proves the run's prefixes empty: signals after it change only the exit code
    changes_registry: bool = False  # it promotes or rolls back: the state views show the registry's change under it


@dataclasses.dataclass(frozen=True)
class Phase:
    id: int
    name: str
    waves: tuple[tuple[Step, ...], ...]  # steps of one wave run concurrently; waves run in order
    setup: Callable | None = None  # runs before the first wave; an exception fails every step
    setup_sends: tuple[str, ...] = ()  # what `setup` sends, as Step.sends
    gate: bool = False  # a hard gate: a failed step here skips every phase after it
    needs: tuple[int, ...] = ()  # phases whose steps must all have passed, else this one is skipped
    proves: str = ""  # what it proves and why it matters (the walkthrough says it before the phase)
    short: str = ""  # its name in the summary table, when shorter than `name`

    @property
    def steps(self) -> tuple[Step, ...]:
        """Its steps, wave after wave."""
        return tuple(step for wave in self.waves for step in wave)

    @property
    def cleans_up(self) -> bool:
        """It is the cleanup: it proves the run's prefixes empty (it runs whatever happened before)."""
        return any(step.proves_cleanup for step in self.steps)

    @property
    def changes_registry(self) -> bool:
        return any(step.changes_registry for step in self.steps)


_DECLARED = re.compile(r"^(?P<request>[^(×]*[^(×\s])(?:\s*×\s*(?P<times>\d+))?(?:\s*\((?P<note>.*)\))?$")


def counted(sends: Sequence[str]) -> Counter:
    """Declared requests as a multiset of "METHOD /path" ("S3 Operation"): "GET /metrics/{model} ×2" counts
    twice; a closing "(note)" is for the reader only."""
    out: Counter = Counter()
    for item in sends:
        match = _DECLARED.match(item.strip())
        if match is None:
            raise ValueError(f"not a declared request: {item!r}")
        out[match.group("request")] += int(match.group("times") or 1)
    return out


@dataclasses.dataclass(frozen=True)
class RunHeader:
    """What a run is about, as shown above its steps. Every field is display text (no secrets: the S3
    endpoint is already redacted)."""

    target: str  # the API's base URL, as displayed
    client: str  # "zorora" | "direct"
    bucket: str
    region: str
    customer: str
    actor: str
    s3_endpoint: str = ""  # redacted; "" for AWS's own endpoint
    preflight_only: bool = False


class Reporter:
    """What the runner tells whoever is watching. Methods may be called from several threads."""

    def run_started(self, header: RunHeader, phases: Sequence[Phase]) -> None: ...
    def phase_started(self, phase: Phase) -> None: ...
    def step_started(self, step: Step) -> None: ...  # its worker is about to start (the main thread)
    def step_finished(self, result: StepResult) -> None: ...
    def run_finished(self, result: RunResult) -> None: ...
    def notice(self, text: str) -> None: ...
