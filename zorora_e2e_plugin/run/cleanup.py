"""The end of every run: phase 5 runs once the run's last request has ended (or the drain gave up on it),
again when a step the deadline cut off ended meanwhile; then what the report may claim about what is left.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .. import plan as plan_module
from ..config.settings import Settings
from ..core.outcomes import Cleanup

if TYPE_CHECKING:
    from .execution import Run

CLEANUP_BUDGET = 60.0  # seconds per cleanup wave (at least 4 x --timeout)
DRAIN_REQUESTS = 3  # requests a cut-off step may still have to make (a promote: challengers, diff, promote)
DRAIN_LIMIT = 5.0  # but never wait longer than this: a deadline is a deadline (what is still running is listed)


def drain_limit(settings: Settings) -> float:
    """How long cleanup waits for steps the deadline cut off: their request in flight ends within --timeout
    (no retries during a run), and a promote is three requests; at most DRAIN_LIMIT."""
    return min(settings.timeout * DRAIN_REQUESTS + 1, DRAIN_LIMIT)


def clean_up(run: Run) -> float | None:
    """Phase 5, whenever anything may have been written, after the run's last request has ended (or the
    drain gave up on it: the result then lists what may still arrive). Signals are only recorded here.
    Run again when a step the deadline cut off ended during the cleanup: its write may have landed after
    the listing that proved the prefixes empty. Deleting is idempotent. Returns when the last cleanup began
    (None: nothing to clean). `run`: run.Run."""
    runner, ctx, settings = run.runner, run.ctx, run.settings
    still_running = runner.drain(drain_limit(settings))
    if still_running:
        run.reporter.notice(
            f"{still_running} request(s) cut off by the deadline are still waiting on the "
            "target; if one lands after this cleanup, `zorora-e2e sweep` removes what it wrote"
        )
    began = None
    for _ in range(3):
        if not (ctx.wrote or ctx.probe_pending or (ctx.keeps_versions() and ctx.claimed)):  # versioned: 0.4's
            # probe (the run's claim) left a version and a delete marker; a run that lost the claim wrote nothing
            return began
        began = time.monotonic()
        if runner.cut_off():  # a cut-off step may have written after 4.5 listed the prefixes: 5.1 lists anew.
            # Each round: a cut-off 4.5 that ends during a cleanup stores its listing then, taken before that
            # cleanup deleted anything (its ending is what sends the next round)
            ctx.cleanup_listing = None
        if not _run_cleanup_phase(run):
            continue
        if not runner.ended_since(began):
            break
    if began is not None and _settle(run):
        began = time.monotonic()
        ctx.cleanup_listing = None
        _run_cleanup_phase(run)  # interrupted: the proof before the wait stands as it is
    return began


def _run_cleanup_phase(run: Run) -> bool:
    """Phase 5 once, within its own budget. False: a Ctrl-C without a signal guard (a handler not set from
    Python) interrupted it; the run is marked interrupted."""
    try:
        run.runner.run_cleanup(run.cleanup_phase, budget=max(CLEANUP_BUDGET, run.settings.timeout * 4))
    except KeyboardInterrupt:
        run.runner.mark_interrupted()
        return False
    return True


def settle_window(settings: Settings) -> float:
    """How long the cleanup watches the run's prefixes after a promote/rollback got no answer: twice --timeout,
    5 to 60 s (API Gateway gives up after ~29 s; a Lambda that outlived it writes soon after, or not at all)."""
    return min(max(2 * settings.timeout, 5.0), 60.0)


def _settle(run: Run) -> bool:
    """A mutation without an answer may still land: watch the run's prefixes (deleting what appears) until the
    window after the last one ends, with a countdown. True: the cleanup must run again (it waited). What
    appeared is kept in ctx.late_effects; a wait that saw nothing leaves `cleanup_truth` to say which keys may
    still appear."""
    ctx, settings, reporter, signals = run.ctx, run.settings, run.reporter, run.signals
    ledger = getattr(ctx, "mutations", None)
    pending = ledger.pending() if ledger is not None else []
    if not pending or not ctx.owns_prefixes or ctx.cleanup.kept:
        return False
    until = max(p.ended or p.sent for p in pending) + settle_window(settings)
    names = ", ".join(dict.fromkeys(str(p) for p in pending))
    reporter.notice(
        f"{names}: no answer, so the Lambda may still write; watching the run's prefixes for "
        f"{max(0.0, until - time.monotonic()):.0f}s, then proving them empty again"
    )
    before = len(signals.received) if signals is not None else 0
    told, every = time.monotonic(), max(2.0, settle_window(settings) / 4)  # the countdown's pace
    try:
        while time.monotonic() < until:
            if signals is not None and len(signals.received) > before:
                reporter.notice("stopped waiting for the unanswered request(s) (signal)")
                break
            time.sleep(min(0.5, max(0.0, until - time.monotonic())))
            try:
                found = ctx.store.list_many(ctx.world.prefixes)
            except Exception:  # the cleanup after the wait says what S3 refused
                break
            keys = sorted(k for ks in found.values() for k in ks)
            if keys:
                ctx.late_effects.update(keys)
                try:
                    ctx.store.delete_keys(keys)
                except Exception:  # slow or refusing S3: the cleanup after the wait deletes and says what is left
                    break
            if time.monotonic() - told >= every and until - time.monotonic() >= 1:
                told = time.monotonic()
                reporter.notice(
                    f"… {until - time.monotonic():.0f}s left"
                    + (f" ({len(ctx.late_effects)} late object(s) removed so far)" if ctx.late_effects else "")
                )
    except KeyboardInterrupt:
        run.runner.mark_interrupted()
    if ctx.late_effects:
        reporter.notice(
            f"{len(ctx.late_effects)} object(s) written after the request(s) went unanswered "
            "appeared and were removed: " + ", ".join(sorted(ctx.late_effects)[:4])
        )
    ctx.settled = True
    return True


def cleanup_truth(run: Run, began: float | None) -> Cleanup:
    """What the report may claim: "nothing left" only when 5.2 itself proved the prefixes empty after the
    run's last request ended. Otherwise the keys not proven deleted, and, while a cut-off step may still
    send a request, the prefixes it could write under."""
    ctx, settings, world, reporter = run.ctx, run.settings, run.world, run.reporter
    cleanup: Cleanup = ctx.cleanup  # as phase 5 left it
    cleanup.leftover = list(cleanup.leftover)
    cleanup.prefixes = [f"s3://{settings.bucket}/{p}" for p in world.prefixes]
    cleanup.sweep_command = run.redact(plan_module.sweep_command_for(settings))
    if cleanup.kept:
        if settings.sandbox:  # kept in a sandbox that is discarded when the run ends: no sweep to offer
            cleanup.sweep_command = ""
        return cleanup
    needed = run.cleanup_ran() or ctx.wrote or ctx.probe_pending
    if needed and not run.cleanup_proven():
        cleanup.proven_empty = False
        cleanup.leftover = cleanup.leftover or plan_module.unlisted_leftovers(ctx)  # exact: what may exist
    ledger = getattr(ctx, "mutations", None)
    if ledger is not None and ledger.pending() and ctx.owns_prefixes and not getattr(ctx, "late_effects", None):
        # nothing landed while the cleanup watched: the request may still act, later
        may = [world.registry_key, world.archive_prefix + "*", world.audit_key]
        cleanup.proven_empty = False
        cleanup.leftover = sorted(set(cleanup.leftover) | set(may))
        reporter.notice(
            "a promote/rollback that got no answer may still write: "
            + ", ".join(f"s3://{settings.bucket}/{k}" for k in may)
            + f" may still appear; remove them later with `{cleanup.sweep_command}`"
        )
    late = run.runner.late_steps(began)
    if late and ctx.owns_prefixes:
        cleanup.proven_empty = False
        cleanup.leftover = sorted(set(cleanup.leftover) | {p + "*" for p in world.prefixes})
        reporter.notice(
            "still running after the cleanup (a request may still land in S3): "
            + ", ".join(f"{step.id} {step.title}" for step in late)
        )
    return cleanup
