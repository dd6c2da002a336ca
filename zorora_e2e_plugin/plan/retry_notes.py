"""Reads the run retried, said by the step that made them: a step that passed only after a retry passes with
a warning ("GET /diff: passed on attempt 2 (HTTP 503)"); a failed step says what was retried before it failed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Callable

from ..core import catalogue
from ..core.diagnosis import Diagnosis
from ..core.outcomes import StepFailed, StepWarning
from ..core.steps import Phase
from ..wire.retries import Retry, begin_step_log, describe
from .context import Context

RETRIED = catalogue.RETRIED


def _hint(log: Sequence[Retry]) -> Diagnosis:
    return catalogue.THROTTLED if any(r.reason == "HTTP 429" for r in log) else RETRIED


def noting_retries(fn: Callable) -> Callable:
    """The step, with its retries in its result (each step gets its own retry log)."""

    @functools.wraps(fn)
    def step(ctx: Context) -> str:
        log = begin_step_log()
        try:
            detail = fn(ctx)
        except StepWarning as warning:
            if log:
                warning.actual = f"{warning.actual}; {describe(log)}"
                warning.hint = warning.hint or _hint(log)
            raise
        except StepFailed as failure:
            if log:
                failure.actual = f"{failure.actual} (retried first: {describe(log, passed=False)})"
            raise
        if log:
            raise StepWarning(
                "every read answered on its first attempt",
                f"{detail}; {describe(log)}" if detail else describe(log),
                _hint(log),
            )
        return detail

    return step


def noting_retries_in(phases: Sequence[Phase]) -> list[Phase]:
    return [
        dataclasses.replace(
            phase,
            waves=tuple(
                tuple(dataclasses.replace(step, fn=noting_retries(step.fn)) for step in wave) for wave in phase.waves
            ),
        )
        for phase in phases
    ]
