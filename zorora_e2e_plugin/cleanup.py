"""The end of every run: phase 5 runs once the run's last request has ended (or the drain gave up on it),
again when a step the deadline cut off ended meanwhile; then what the report may claim about what is left.
"""

from __future__ import annotations

import time
from typing import Optional

from . import plan as plan_module
from .fixtures import TestWorld
from .results import PASS, Cleanup
from .runner import Runner
from .settings import Settings

CLEANUP_BUDGET = 60.0  # seconds per cleanup wave (at least 4 x --timeout)
DRAIN_REQUESTS = 3  # requests a cut-off step may still have to make (a promote: challengers, diff, promote)
DRAIN_LIMIT = 5.0  # but never wait longer than this: a deadline is a deadline (what is still running is listed)


def drain_limit(settings: Settings) -> float:
    """How long cleanup waits for steps the deadline cut off: their request in flight ends within --timeout
    (no retries during a run), and a promote is three requests; at most DRAIN_LIMIT."""
    return min(settings.timeout * DRAIN_REQUESTS + 1, DRAIN_LIMIT)


def clean_up(runner: Runner, ctx, settings: Settings) -> Optional[float]:
    """Phase 5, whenever anything may have been written, after the run's last request has ended (or the
    drain gave up on it: the result then lists what may still arrive). Signals are only recorded here.
    Run again when a step the deadline cut off ended during the cleanup: its write may have landed after
    the listing that proved the prefixes empty. Deleting is idempotent. Returns when the last cleanup began
    (None: nothing to clean)."""
    still_running = runner.drain(drain_limit(settings))
    if still_running:
        runner.reporter.notice(f"{still_running} request(s) cut off by the deadline are still waiting on the "
                               "target; if one lands after this cleanup, `zorora-e2e sweep` removes what it wrote")
    began = None
    for _ in range(3):
        if not (ctx.wrote or ctx.probe_pending):
            return began
        began = time.monotonic()
        if runner.abandoned:  # a cut-off step may have written after 4.5 listed the prefixes: 5.1 lists anew.
            # Each round: a cut-off 4.5 that ends during a cleanup stores its listing then, taken before that
            # cleanup deleted anything (its ending is what sends the next round)
            ctx.cleanup_listing = None
        try:
            runner.run_cleanup(plan_module.cleanup_phase(), budget=max(CLEANUP_BUDGET, settings.timeout * 4))
        except KeyboardInterrupt:  # without a signal guard (a handler not set from Python)
            runner.interrupted = True
            continue
        if not any(w.phase != 5 and w.ended is not None and w.ended >= began for w in runner.abandoned):
            return began
    return began


def cleanup_truth(runner: Runner, ctx, settings: Settings, world: TestWorld, began: Optional[float]) -> Cleanup:
    """What the report may claim: "nothing left" only when 5.2 itself proved the prefixes empty after the
    run's last request ended. Otherwise the keys not proven deleted, and, while a cut-off step may still
    send a request, the prefixes it could write under."""
    cleanup: Cleanup = ctx.cleanup  # as phase 5 left it
    cleanup.leftover = list(cleanup.leftover)
    cleanup.prefixes = [f"s3://{settings.bucket}/{p}" for p in world.prefixes]
    cleanup.sweep_command = runner.redact(plan_module.sweep_command_for(settings))
    if cleanup.kept:
        if settings.sandbox:  # kept in a sandbox that is discarded when the run ends: no sweep to offer
            cleanup.sweep_command = ""
        return cleanup
    proof = runner.results.get("5.2")
    needed = "5.1" in runner.results or ctx.wrote or ctx.probe_pending
    if needed and not (proof is not None and proof.status == PASS):
        cleanup.proven_empty = False
        cleanup.leftover = cleanup.leftover or plan_module.unlisted_leftovers(ctx)  # exact: what may exist
    late = [w for w in runner.abandoned if w.phase != 5 and (
        not w.done.is_set() or (began is not None and w.ended is not None and w.ended >= began))]
    if late and ctx.owns_prefixes:
        cleanup.proven_empty = False
        cleanup.leftover = sorted(set(cleanup.leftover) | {p + "*" for p in world.prefixes})
        runner.reporter.notice("still running after the cleanup (a request may still land in S3): "
                               + ", ".join(f"{w.step.id} {w.step.title}" for w in late))
    return cleanup
