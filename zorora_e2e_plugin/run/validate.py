"""The one entry point both faces call (`zorora-e2e run` and `ml-validate-e2e`):
settings -> plan -> runner -> results -> report.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Callable

from ..client import ZororaHTTP, make_client, run_scope
from ..config.checks import SettingsError
from ..config.settings import Settings
from ..core.outcomes import RunResult
from ..plan.seed_data import SeedData
from ..s3.store import start_client
from .execution import Run
from .options import RunOptions
from .signals import guard as signal_guard

if TYPE_CHECKING:
    from rich.console import Console


def describe_writes(settings: Settings) -> str:
    """What a full run will do to the target: the text of the confirmation prompt (one item a line)."""
    prefixes = SeedData.create(settings.customer_id, settings.bucket).prefixes
    lines = [
        f"This run, for test customer {settings.customer_id}, will:",
        f"  write test data under (region {settings.region}):",
    ]
    lines += [f"    s3://{settings.bucket}/{p}" for p in prefixes]
    lines += [
        f"  call promote and rollback for that customer on {settings.display_url}",
        "  then delete everything it wrote.",
    ]
    return "\n".join(lines)


def needs_confirmation(settings: Settings) -> bool:
    return settings.writes_data and not settings.is_local and not settings.assume_yes


NOT_ASKING = "Not asking without a terminal: nothing was written. Re-run with --yes to proceed."
CANCELLED = "Cancelled: nothing was written."


def may_write(settings: Settings, say: Callable[..., None]) -> bool:
    """The one rule both faces follow before a run: a run that writes test data to a target that is not local
    asks first (`describe_writes` says what, where and on which URL); --yes skips the question; without a
    terminal to ask on it does not ask and refuses, nothing written (CI and cron pass --yes).
    A preflight-only run, a sandbox and a loopback target never ask. `say(text, style)` prints on the face's
    console. True: go ahead."""
    if not needs_confirmation(settings):
        return True
    from ..console import confirm, terminal

    text = describe_writes(settings)
    if not terminal.can_prompt():
        say(text)
        say(NOT_ASKING, "yellow")
        return False
    if confirm.confirm(text):
        return True
    say(CANCELLED, "yellow")
    return False


def may_start(settings: Settings, say: Callable[..., None]) -> tuple[bool, Callable[[], bool] | None]:
    """may_write's rule, asked after the gate: (start False: refused, it said why; ask: for once phase 0 passed)."""
    if not needs_confirmation(settings):
        return True, None
    from ..console import confirm, terminal

    if not terminal.can_prompt():
        return may_write(settings, say), None
    return True, lambda: confirm.confirm("\n" + describe_writes(settings))


def validate(
    settings: Settings, *, console: Console, http_client: ZororaHTTP | None = None, options: RunOptions | None = None
) -> RunResult:
    """Run the plan against `settings`, reporting live to `console`. Never raises for a failed validation.
    SIGINT, SIGTERM and SIGHUP (in the main thread) end the run with verdict "interrupted" after cleanup;
    one that arrives after the cleanup proved the prefixes empty changes only the exit code. The host's
    signal handlers and environment come back afterwards. `options`: what a face adds (run_options.RunOptions:
    observers, the presenter, a request feed, the question after the gate, print_verdict, debug)."""
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")  # for the --json
    start_client(settings.storage)  # S3 set-up overlaps the first API requests (0.4 finds it ready)
    client = make_client(settings, http_client)
    with signal_guard() as signals:
        try:
            with run_scope(settings, client):
                return Run(
                    settings,
                    client,
                    signals,
                    console=console,
                    options=options or RunOptions(),
                    started=(started, started_at),
                ).execute()
        finally:
            signals.stop_raising()  # whatever arrives from here on is recorded, and only sets the exit code


__all__ = ["validate", "describe_writes", "may_write", "may_start", "needs_confirmation", "SettingsError"]
