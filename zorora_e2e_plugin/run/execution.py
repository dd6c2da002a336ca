"""One run, as one object: its phases (the gate, the question after it, the rest), its cleanup (cleanup.py: the
drain-and-rerun loop), the signal marks and the late-signal rule, the verdict (core/outcomes.decide_verdict)
and the reports. validate.validate builds the client and the signal guard, then hands them to a Run.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from .. import plan as plan_module
from ..client import OnaClient, RawHttp
from ..client.unanswered import MutationLedger
from ..config import checks
from ..config.checks import redact_url
from ..config.settings import Settings
from ..core.outcomes import PASS, RunResult, decide_verdict, signal_name
from ..core.redact import make_redactor
from ..core.steps import Phase, RunHeader
from ..history import record
from ..history.since import previous_run
from ..plan.seed_data import SeedData
from ..report.artifacts import RunArtifacts
from ..report.console import ConsoleReporter
from ..report.fanout import Fanout, HeldUntilAStepRuns, QuietWhenClosed
from ..report.files import write_reports
from ..s3.store import Store
from ..wire.watch import Watch
from . import cleanup
from .options import RunOptions
from .signals import SignalGuard
from .waves import Runner

if TYPE_CHECKING:
    from rich.console import Console

    from ..core.outcomes import Cleanup
    from ..core.steps import Reporter
    from ..history.record import Recorder
    from ..report.readiness import ReadinessView
    from ..report.walkthrough import Options, Presenter


class Run:
    """`started`: (monotonic, UTC ISO-8601 text) of when validate() began. `execute()` runs it once."""

    def __init__(
        self,
        settings: Settings,
        client: OnaClient,
        signals: SignalGuard,
        *,
        console: Console,
        options: RunOptions,
        started: tuple[float, str],
    ) -> None:
        self.settings, self.client, self.signals = settings, client, signals
        self.console, self.options = console, options
        self.started, self.started_at = started
        self.world = SeedData.create(settings.customer_id, settings.bucket)
        self.redact = make_redactor(settings.secrets, keep=checks.own_ids(settings))
        self.cleanup_phase: Phase = plan_module.cleanup_phase()
        self.waited = 0.0  # seconds spent waiting for a person (the question after the gate, the walkthrough's
        # pauses and views): not the run's time, nor the deadline's
        # set as the run starts (execute, then _prepare), before anything reads them
        self.runner: Runner
        self.reporter: Fanout
        self.ctx: plan_module.Context
        self.shared: RunArtifacts
        self.watch: Watch
        self.recorder: Recorder
        self.phases: list[Phase] = []

    # -- what the cleanup and the presenter ask ------------------------------------------------------------
    def proof_step(self) -> str:
        """The id of the step whose pass proves the run's prefixes empty (the plan names it)."""
        return next(step.id for step in self.cleanup_phase.steps if step.proves_cleanup)

    def cleanup_proven(self) -> bool:
        proof = self.runner.results.get(self.proof_step())
        return proof is not None and proof.status == PASS

    def cleanup_ran(self) -> bool:
        return any(r.phase == self.cleanup_phase.id for r in self.runner.results.values())

    def proven_at(self) -> int:
        """Signals before the proof (its pass, or the end of the cleanup) interrupted the run; later ones change
        only the exit code. How many arrived before it."""
        if self.cleanup_proven():
            return self.runner.signals_when_final(self.proof_step())
        return len(self.signals.received)

    def wait_over(self, seconds: float) -> None:
        """`seconds` just spent waiting for a person: out of the run's time (its duration, --json, the history, the
        HTML timeline) and of its deadline."""
        self.waited += seconds
        self.runner.extend_deadline(seconds)
        self.shared.pauses.append((time.monotonic() - seconds, seconds))

    # -- the run ---------------------------------------------------------------------------------------------
    def execute(self) -> RunResult:
        o = self.options
        console_view = QuietWhenClosed(
            HeldUntilAStepRuns(ConsoleReporter(self.console, print_verdict=o.print_verdict, debug=o.debug)),
            self.signals,
        )
        if o.request_feed is not None:
            o.request_feed.attach(console_view.log_request, self.redact)
        # every request the run sends, recorded (redacted) for --log-requests, --html, --har and the curl lines; a
        # sandbox's --log-requests is its server's log (validate_in_sandbox), not this one
        s = self.settings
        own_log = console_view.log_request if s.outputs.log_requests and not s.sandbox else None
        self.shared = RunArtifacts(s, self.redact, log=own_log, debug=o.debug, sandbox_goes=o.sandbox_goes)
        # every request of the run goes through one watch (wire/watch.py), whose listeners hear of each
        self.watch = Watch(s.base_url, closed=lambda: bool(getattr(self.client, "closed", False)))
        try:
            return self._run(console_view)
        finally:  # however it ends (an observer that raises too): the sessions and the S3 client as they were (a
            # REPL's Zorora client outlives the run), no more request lines, the live line stopped, the console sane
            self.watch.detach()
            self.shared.finish()
            if o.request_feed is not None:
                o.request_feed.detach()
            console_view.close()

    def _run(self, console_view: Reporter) -> RunResult:
        phases = self._prepare(console_view)
        self._run_phases(phases)
        try:
            began = cleanup.clean_up(self)
        finally:
            self.ctx.mutations.close()
        # The end of the run. Nothing after this line may start a request: a step the deadline abandoned
        # finds its client closed.
        for closable in (self.client, self.ctx.raw):
            closable.closed = True
        self.shared.finish()  # nothing more to record (and execute makes sure, however the run ends)
        proven_at = self.proven_at()
        result = self._result(cleanup.cleanup_truth(self, began), proven_at)
        self._report(result, proven_at)
        return result

    def _prepare(self, console_view: Reporter) -> list[Phase]:
        s, client, shared, watch = self.settings, self.client, self.shared, self.watch
        raw = RawHttp(s)
        # the S3 client is already being built (validate's start_client); 0.4 finds it, or its error, diagnosed
        ctx = self.ctx = plan_module.Context(
            settings=s, client=client, raw=raw, world=self.world, store_factory=self._open_store
        )
        self.recorder = record.Recorder(s, retries=watch.retries_by_route)
        ctx.mutations = MutationLedger()  # promote/rollback unanswered
        # the client's and the raw probes' requests: read retries, at most a few at once per host, 10 MB at most per
        # answer, loopback never through HTTP(S)_PROXY; each recorded, timed per route, and a POST without answer kept
        watch.attach(*api_sessions(client, raw)).listen(shared.recorder, self.recorder.timer, ctx.mutations)
        presenter = self.options.presenter
        lead, trail = self._presenter(presenter).parts() if presenter else (None, None)
        phases = [p for p in plan_module.phases() if p.id in s.phases]
        readiness_view = self._readiness(phases)  # --for: phase 6
        self.phases = phases
        watchers = shared.reporters(self.world, lambda: ctx.store)  # first: a step's window opens before it starts
        self.reporter = Fanout(
            [
                r
                for r in (*watchers, lead, console_view, readiness_view, *self.options.observers, trail)
                if r is not None
            ]
        )
        self.runner = Runner(
            ctx, self.reporter, deadline=s.deadline, redact=self.redact, signals=self.signals, reword=s.face.hint
        )  # hints in the words of the face the run came from
        watch.deadline = lambda: self.runner.deadline_at  # no read retried past it
        return phases

    def _open_store(self) -> Store:
        """The run's Store (Context.store_factory): it deletes under the customer's three prefixes, nowhere else;
        its S3 client's requests are heard by the watch's listeners too."""
        store = Store.open(self.settings.storage, scope=self.world.prefixes)
        self.watch.attach_s3(getattr(store, "client", None))
        return store

    def _run_phases(self, phases: list[Phase]) -> None:
        runner, signals, ask = self.runner, self.signals, self.options.ask
        try:
            try:
                self.reporter.run_started(run_header(self.settings, self.client.kind), phases)
                gate = [p for p in phases if p.gate] if ask is not None else []
                runner.run_phases(gate)  # the preflight first: it writes only its probe, which it removes
                if ask is not None and not (runner.gate_failed or runner.interrupted or signals.received):
                    began = time.monotonic()
                    try:
                        runner.cancelled = not ask()
                    finally:  # the engineer's time answering is not the run's
                        self.wait_over(time.monotonic() - began)
                runner.run_phases([p for p in phases if p not in gate])
            finally:
                signals.stop_raising()  # cleanup must run: from here on signals are recorded, never raised
        except KeyboardInterrupt:  # between waves: the runner had no worker to wait for
            runner.mark_interrupted()
        if signals.received:
            runner.mark_interrupted()
        runner.complete(phases)  # a step that never ran is still in every report: "interrupted"

    def _result(self, truth: Cleanup, proven_at: int) -> RunResult:
        s, runner, ctx = self.settings, self.runner, self.ctx
        outcome = decide_verdict(
            interrupted=runner.interrupted or bool(proven_at),
            cancelled=runner.cancelled,
            gate_failed=runner.gate_failed,
            statuses=[r.status for r in runner.results.values()],
            cleanup_proven_empty=truth.proven_empty,
        )
        names = {p.id: p.short or p.name for p in [*self.phases, self.cleanup_phase]}  # as the plan names them
        return RunResult(
            verdict=outcome,
            customer_id=s.customer_id,
            client=self.client.kind,
            duration_ms=int((time.monotonic() - self.started - self.waited) * 1000),
            steps=list(runner.results.values()),
            cleanup=truth,
            target=s.display_url,
            bucket=s.bucket,
            signal=self.signals.first,
            started_at=self.started_at,
            phase_names=names,
            phase_seconds=runner.phase_seconds(),
            readiness=ctx.readiness.block(self.redact) if ctx.readiness is not None else None,
        )

    def _report(self, result: RunResult, proven_at: int) -> None:
        s, reporter, signals = self.settings, self.reporter, self.signals
        cold_start = self.recorder.finish_timing()  # a cold start is a detail of the report, not a failure
        if cold_start:
            result.note = cold_start
            reporter.notice(cold_start)
        result.previous = previous_run(s, result, self.options.history_env)  # --json: the verdict before this one
        # the reports are written before the summary (a report that could not be written is said there); where
        # they went is said after it, not in its middle
        reports = write_reports(
            result, json_path=s.json_path, junit_path=s.junit_path, step_extras=self.shared.step_extras(result)
        )
        for error in reports.errors:
            reporter.notice(error)
        artifacts = self.shared.write(result, run_header(s, self.client.kind), self.recorder.cold)
        for line in artifacts.notes + artifacts.errors:
            reporter.notice(line)  # --html, --har, --summary-md (errors); with --debug the failing steps' curl lines
        written = {**reports.paths, **artifacts.paths}
        reporter.run_finished(result)
        for flag, path in written.items():
            reporter.notice(f"{flag} report written to {os.path.abspath(path)}")
        if len(signals.received) > proven_at:
            late = signals.received[proven_at]
            result.signal = result.signal or late
            code = "" if s.face.in_zorora else f"; exit code {128 + result.signal}"  # no exit code in a REPL
            reporter.notice(f"{signal_name(late)} after the cleanup had finished: nothing was left to stop{code}.")
        problem = self.recorder.save(result, written.get("--json"), env=self.options.history_env)  # one line
        if problem:
            reporter.notice(problem)
        if s.metrics is not None:  # --metrics: one batch after the run; a failure to publish is only a warning
            from .publish import publish_metrics

            publish_metrics(self, result, reporter.notice)

    def _readiness(self, phases: list[Phase]) -> ReadinessView | None:
        """--for: the readiness phase after the gate (plan/readiness/phase.py), its state on ctx, and its view."""
        s = self.settings
        if s.readiness_for is None:
            return None
        from ..plan.readiness.phase import ReadinessState, readiness_phase
        from ..report.readiness import ReadinessView

        self.ctx.readiness = ReadinessState(s.readiness_for, s.bucket)
        phases.append(readiness_phase(s.readiness_for))
        presenter = self.options.presenter
        return ReadinessView(
            self.console, self.ctx.readiness, self.redact, show_state=bool(presenter and presenter.show_state)
        )

    def _presenter(self, options: Options) -> Presenter:
        """The walkthrough/state views (walkthrough.Presenter), first to hear of each phase: it pauses and explains
        before the phase's header, and holds a RunControl to the run."""
        from ..report.walkthrough import Presenter

        ctx = self.ctx
        return Presenter(
            options,
            self.console,
            world=self.world,
            open_store=lambda: ctx.store,
            redact=self.redact,
            signals=self.signals,
            control=RunControl(self),
        )


class RunControl:
    """What the presenter may do to the run: `stop()` it as a signal would (the cleanup still runs); say it
    spent `paused(seconds)` (the deadline moves on, the run's duration leaves them out: a presenter talking must
    not time the run out); ask `why_skipped(phase)`: "interrupted" when the run was interrupted (no more views or
    pauses), "skipped" when that phase will be skipped (no pause), "" when it runs."""

    def __init__(self, run: Run):
        self._run = run

    def stop(self) -> None:
        self._run.runner.mark_interrupted()

    def paused(self, seconds: float) -> None:
        self._run.wait_over(seconds)

    def why_skipped(self, phase: Phase) -> str:
        run = self._run
        if run.runner.interrupted or run.signals.received:
            return "interrupted"
        return "skipped" if not phase.cleans_up and (run.runner.out_of_time or run.runner.gate_failed) else ""


def run_header(settings: Settings, client_kind: str) -> RunHeader:
    """What the run is about, for the reporters: display text only (the S3 endpoint redacted)."""
    s = settings
    return RunHeader(
        target=s.display_url,
        client=client_kind,
        bucket=s.bucket,
        region=s.region,
        customer=s.customer_id,
        actor=s.actor,
        s3_endpoint=redact_url(s.s3_endpoint_url) if s.s3_endpoint_url else "",
        preflight_only=s.preflight_only,
    )


def api_sessions(client: OnaClient, raw: RawHttp) -> list[Any]:  # requests sessions
    """The requests sessions that carry the run's API requests (the run's watch attaches them)."""
    holder = getattr(client, "http_client", client)  # Zorora's ZororaHTTPClient, or the direct client
    return [s for s in (getattr(holder, "session", None), getattr(raw, "session", None)) if s is not None]


__all__ = ["Run", "RunControl", "run_header", "api_sessions"]
