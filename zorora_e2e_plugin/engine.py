"""The one entry point both faces call (`zorora-e2e run` and `ml-validate-e2e`):
settings -> plan -> runner -> results -> report.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
from typing import Callable, Optional, Tuple

from . import history
from . import plan as plan_module
from . import run_signals, settings_checks
from .cleanup import clean_up, cleanup_truth
from .client import RawHttp, make_client, run_scope
from .artifacts import RunArtifacts
from .client.retry import set_deadline
from .fixtures import TestWorld
from .model import RunHeader
from .mutations import MutationLedger
from .redact import make_redactor
from .relays import Fanout, HeldUntilAStepRuns, QuietWhenClosed
from .report import ConsoleReporter, write_reports
from .results import (CANCELLED as CANCELLED_VERDICT, FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASS, PASSED, RunResult,
                      signal_name)
from .runner import Runner
from .settings import Settings
from .settings_checks import SettingsError, redact_url
from .store import Store, start_client
from .wire_guard import SessionGuard


def describe_writes(settings: Settings) -> str:
    """What a full run will do to the target: the text of the confirmation prompt (one item a line)."""
    prefixes = TestWorld.create(settings.customer_id, settings.bucket).prefixes
    lines = [f"This run, for test customer {settings.customer_id}, will:",
             f"  write test data under (region {settings.region}):"]
    lines += [f"    s3://{settings.bucket}/{p}" for p in prefixes]
    lines += [f"  call promote and rollback for that customer on {settings.display_url}",
              "  then delete everything it wrote."]
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
    from . import confirm

    text = describe_writes(settings)
    if not confirm.can_prompt():
        say(text)
        say(NOT_ASKING, "yellow")
        return False
    if confirm.confirm(text):
        return True
    say(CANCELLED, "yellow")
    return False


def may_start(settings: Settings, say: Callable[..., None]) -> Tuple[bool, Optional[Callable[[], bool]]]:
    """may_write's rule, asked after the gate: (start False: refused, it said why; ask: for once phase 0 passed)."""
    if not needs_confirmation(settings):
        return True, None
    from . import confirm

    if not confirm.can_prompt():
        return may_write(settings, say), None
    return True, lambda: confirm.confirm("\n" + describe_writes(settings))


def validate(settings: Settings, *, console, http_client=None, observers=(), print_verdict: bool = True,
             debug: bool = False, presenter=None, request_feed=None,
             ask: Optional[Callable[[], bool]] = None) -> RunResult:
    """Run the plan against `settings`, reporting live to `console`. Never raises for a failed validation.
    SIGINT, SIGTERM and SIGHUP (in the main thread) end the run with verdict "interrupted" after cleanup;
    one that arrives after the cleanup proved the prefixes empty changes only the exit code. The host's
    signal handlers and environment come back afterwards. `observers` are extra Reporters (tests use one to
    break the target at a phase boundary). `debug`: print an unexpected error's traceback under its step
    (it is always in the --json report). `presenter`: walkthrough.Options (--walkthrough, --show-state).
    `ask` (may_start's): asked once the preflight gate has passed; no ends the run there, nothing written.
    `request_feed`: request-log lines (an in-process sandbox's --log-requests) to print on the run's console
    while it runs."""
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")  # for the --json
    start_client(settings.storage)  # S3 set-up overlaps the first API requests (0.4 finds it ready)
    client = make_client(settings, http_client)
    with run_signals.guard() as signals:
        try:
            with run_scope(settings, client):
                return _validate(settings, client, started, signals, console=console, observers=observers,
                                 print_verdict=print_verdict, debug=debug, presenter=presenter,
                                 request_feed=request_feed, started_at=started_at, ask=ask)
        finally:
            signals.stop_raising()  # whatever arrives from here on is recorded, and only sets the exit code


def _validate(settings: Settings, client, started: float, signals, *, console, observers,
              print_verdict: bool, debug: bool, presenter=None, request_feed=None,
              started_at: str = "", ask=None) -> RunResult:
    console_view = QuietWhenClosed(HeldUntilAStepRuns(ConsoleReporter(console, print_verdict=print_verdict,
                                                                      debug=debug)), signals)
    redact = make_redactor(settings.secrets, keep=settings_checks.own_ids(settings))
    if request_feed is not None:
        request_feed.attach(console_view.log_request, redact)
    # every request the run sends, recorded (redacted) for --log-requests, --html, --har and the curl lines; a
    # sandbox's --log-requests is its server's log (validate_in_sandbox), not this one
    own_log = console_view.log_request if settings.outputs.log_requests and not settings.sandbox else None
    shared = RunArtifacts(settings, redact, _api_sessions(client, None), log=own_log, debug=debug)
    try:
        return _run(settings, client, started, signals, console_view, observers, console, presenter,
                    started_at, redact, shared, ask)
    finally:  # however it ends: no more request lines, the live line stopped, the console left sane
        shared.finish()  # the sessions and the S3 client as they were (the REPL's outlive the run)
        if request_feed is not None:
            request_feed.detach()
        console_view.close()


def _run(settings: Settings, client, started: float, signals, console_view, observers, console,
         presenter, started_at: str, redact: Callable[[str], str], shared: RunArtifacts,
         ask=None) -> RunResult:
    world = TestWorld.create(settings.customer_id, settings.bucket)
    raw = RawHttp(settings)
    shared.recorder.attach_session(raw.session)  # the raw probes' requests too
    # the S3 client is already being built (validate's start_client); 0.4 finds it, or its error, diagnosed
    ctx = plan_module.Context(settings=settings, client=client, raw=raw,
                              store_factory=lambda: shared.watch_store(Store.open(settings.storage,
                                                                                  scope=world.prefixes)),
                              world=world)  # the store deletes under the customer's three prefixes, nowhere else
    recorder = history.Recorder(settings, *_api_sessions(client, ctx.raw))
    with contextlib.ExitStack() as undo:  # however the run ends (an observer that raises too), the sessions
        # it wrapped are left as they were: a REPL's Zorora client outlives the run
        undo.callback(recorder.timer.detach)
        # 10 MB at most per answer; loopback never through HTTP(S)_PROXY (off again at the end: wire_guard.py)
        wire = SessionGuard(settings.base_url).attach(*_api_sessions(client, ctx.raw))
        undo.callback(wire.detach)
        ctx.mutations = MutationLedger().watch(*_api_sessions(client, ctx.raw))  # promote/rollback unanswered
        undo.callback(ctx.mutations.close)
        presented = [0.0]  # seconds the walkthrough spent paused or drawing views: not the run's time
        lead, trail = _presenter(presenter, console, ctx, redact, signals, lambda: runner, presented).parts() \
            if presenter else (None, None)
        phases = [p for p in plan_module.phases() if p.id in settings.phases]
        readiness_view = _readiness(settings, ctx, phases, console, redact, presenter)  # --for: phase 6
        watchers = shared.reporters(world, lambda: ctx.store)  # first: a step's window opens before it starts
        reporter = Fanout([r for r in (*watchers, lead, console_view, readiness_view, *observers, recorder, trail)
                           if r is not None])
        runner = Runner(ctx, reporter, deadline=settings.deadline, redact=redact, signals=signals,
                        reword=settings.face.hint)
        set_deadline(_api_sessions(client, ctx.raw), lambda: runner.deadline_at)  # no read retried past it
        try:
            try:
                reporter.run_started(run_header(settings, client.kind), phases)
                gate = [p for p in phases if p.id == 0] if ask is not None else []
                runner.run_phases(gate)  # the preflight first: it writes only its probe, which it removes
                if ask is not None and not (runner.gate_failed or runner.interrupted or signals.received):
                    runner.cancelled = not ask()
                runner.run_phases([p for p in phases if p not in gate])
            finally:
                signals.stop_raising()  # cleanup must run: from here on signals are recorded, never raised
        except KeyboardInterrupt:  # between waves: the runner had no worker to wait for
            runner.interrupted = True
        if signals.received and not runner.interrupted:
            runner.interrupted = True
        runner.complete(phases)  # a step that never ran is still in every report: "interrupted"
        try:
            cleanup_began = clean_up(runner, ctx, settings)
        finally:
            ctx.mutations.close()
        # The end of the run. Nothing after this line may start a request: a step the deadline abandoned
        # finds its client closed.
        for closable in (client, raw):
            closable.closed = True
        shared.finish()  # nothing more to record (and _validate makes sure, however the run ends)
        # Signals before the proof (5.2 passing, or the end of the cleanup) interrupted the run; later ones change
        # only the exit code.
        proof = runner.results.get("5.2")
        proven_at = runner.signal_marks.get("5.2", 0) if proof is not None and proof.status == PASS \
            else len(signals.received)
        if proven_at:
            runner.interrupted = True
        if runner.interrupted:
            verdict = INTERRUPTED
        elif runner.cancelled:
            verdict = CANCELLED_VERDICT
        elif runner.gate_failed:
            verdict = GATE_FAILED
        elif any(r.status == FAIL for r in runner.results.values()):
            verdict = FAILED
        else:
            verdict = PASSED
        cleanup = cleanup_truth(runner, ctx, settings, world, cleanup_began)
        if verdict == PASSED and not cleanup.proven_empty:
            verdict = FAILED  # test data may be left: never a pass
        result = RunResult(
            verdict=verdict, customer_id=settings.customer_id, client=client.kind,
            duration_ms=int((time.monotonic() - started - presented[0]) * 1000), steps=list(runner.results.values()),
            cleanup=cleanup, target=settings.display_url, bucket=settings.bucket, signal=signals.first,
            started_at=started_at, readiness=ctx.readiness.block(redact) if ctx.readiness is not None else None)
        cold_start = recorder.finish_timing()  # a cold start is a detail of the report, not a failure
        wire.detach()
        if cold_start:
            result.note = cold_start
            reporter.notice(cold_start)
        # the reports are written before the summary (a report that could not be written is said there); where
        # they went is said after it, not in its middle
        for error in write_reports(result, json_path=settings.json_path, junit_path=settings.junit_path,
                                   step_extras=shared.step_extras(result)):
            reporter.notice(error)
        written = {flag: path for path, flag in ((settings.json_path, "--json"), (settings.junit_path, "--junit"))
                   if path and not any(flag in error for error in result.report_errors)}
        for line in shared.write(result, run_header(settings, client.kind), recorder.cold, written):
            reporter.notice(line)  # --html, --har, --summary-md (errors); with --debug the failing steps' curl lines
        reporter.run_finished(result)
        for flag, path in written.items():
            reporter.notice(f"{flag} report written to {os.path.abspath(path)}")
        if len(signals.received) > proven_at:
            late = signals.received[proven_at]
            result.signal = result.signal or late
            reporter.notice(f"{signal_name(late)} after the cleanup had finished: nothing was left to "
                            f"stop; exit code {128 + result.signal}.")
        problem = recorder.save(result, written.get("--json"))  # one line in ~/.zorora/e2e-history.jsonl
        if problem:
            reporter.notice(problem)
        return result


def _readiness(settings: Settings, ctx, phases, console, redact, presenter):
    """--for: the readiness phase after the gate (plan/readiness.py), its state on ctx, and its view."""
    if settings.readiness_for is None:
        return None
    from .plan.readiness import ReadinessState, readiness_phase
    from .readiness_view import ReadinessView

    ctx.readiness = ReadinessState(settings.readiness_for, settings.bucket)
    phases.append(readiness_phase(settings.readiness_for))
    return ReadinessView(console, ctx.readiness, redact, show_state=bool(presenter and presenter.show_state))


def _presenter(options, console, ctx, redact, signals, runner, presented):
    """The walkthrough/state views (walkthrough.Presenter), first to hear of each phase: it pauses and explains
    before the phase's header. `q` stops the run as a signal would (the cleanup still runs); time spent
    paused or drawing views moves the deadline on (a presenter talking must not time the run out) and is
    left out of the run's duration (`presented`)."""
    from .walkthrough import Presenter

    def stop():
        runner().interrupted = True

    def paused(seconds: float):
        runner().deadline_at += seconds
        presented[0] += seconds

    def skipped(phase: int) -> str:
        r = runner()
        if r.interrupted or signals.received:
            return "interrupted"
        return "skipped" if phase != 5 and (r.out_of_time or r.gate_failed) else ""

    return Presenter(options, console, world=ctx.world, open_store=lambda: ctx.store, redact=redact,
                     signals=signals, stop=stop, paused=paused, skipped=skipped)


def run_header(settings: Settings, client_kind: str) -> RunHeader:
    """What the run is about, for the reporters: display text only (the S3 endpoint redacted)."""
    s = settings
    return RunHeader(target=s.display_url, client=client_kind, bucket=s.bucket, region=s.region,
                     customer=s.customer_id, actor=s.actor,
                     s3_endpoint=redact_url(s.s3_endpoint_url) if s.s3_endpoint_url else "",
                     preflight_only=s.preflight_only)


def _api_sessions(client, raw):
    """The requests sessions that carry the run's API requests (timed per route for the history)."""
    holder = getattr(client, "http_client", client)  # Zorora's ZororaHTTPClient, or the direct client
    return [s for s in (getattr(holder, "session", None), getattr(raw, "session", None)) if s is not None]


__all__ = ["validate", "describe_writes", "may_write", "may_start", "needs_confirmation", "SettingsError"]
