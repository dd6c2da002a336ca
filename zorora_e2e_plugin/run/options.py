"""What a face may add to a run beyond its settings (engine.validate's `options`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..core.steps import Reporter
    from ..report.walkthrough import Options
    from .in_sandbox import RequestFeed


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """`observers`: extra Reporters (tests use one to break the target at a phase boundary). `presenter`:
    walkthrough.Options (--walkthrough, --show-state). `request_feed`: request-log lines (an in-process sandbox's
    --log-requests, engine.RequestFeed) to print on the run's console while it runs. `ask` (engine.may_start's):
    asked once the preflight gate has passed; no ends the run there, nothing written. `print_verdict`: False when
    the face prints the returned verdict itself (the REPL). `debug`: print an unexpected error's traceback under
    its step (it is always in the --json report). `history_env`: where the history is read and written
    (ZORORA_E2E_HISTORY); None: the process's environment (the Lambda's handler passes its own: off unless asked).
    `sandbox_goes`: the target is a sandbox that stops with the run (no curl line to send again)."""

    observers: Sequence[Reporter] = ()
    presenter: Options | None = None
    request_feed: RequestFeed | None = None
    ask: Callable[[], bool] | None = None
    print_verdict: bool = True
    debug: bool = False
    history_env: Mapping[str, str] | None = None
    sandbox_goes: bool = False  # the target is the run's own sandbox, stopped with it (demo, --sandbox)


__all__ = ["RunOptions"]
