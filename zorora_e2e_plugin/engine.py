"""The one entry point both faces call (`zorora-e2e run` and `ml-validate-e2e`):
settings -> plan -> runner -> results -> report.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Callable, Iterable, Mapping, Optional

from . import history
from . import plan as plan_module
from .client import RawHttp, make_client
from .fixtures import TestWorld
from .report import ConsoleReporter, write_json, write_junit
from .results import Cleanup, RunResult
from .runner import Reporter, Runner
from .settings import DEFAULT_BUCKET, Settings, SettingsError, resolve
from .store import Store, make_s3_client, start_client

CLEANUP_BUDGET = 60.0
DRAIN_LIMIT = 5.0  # seconds to wait for requests the deadline cut off, before cleaning up


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def make_redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """Removes every secret, and the control characters (escape sequences, NULs) a server body may carry:
    they would drive the user's terminal and break the JUnit XML."""
    secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(text: str) -> str:
        text = "" if text is None else str(text)
        for secret in secrets:
            text = text.replace(secret, "***")
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)

    return redact


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


class _Fanout(Reporter):
    """Passes every event to several reporters (the console view, plus any observer a caller adds)."""

    def __init__(self, reporters):
        self.reporters = list(reporters)

    def _each(self, event: str, *args) -> None:
        for reporter in self.reporters:
            getattr(reporter, event)(*args)

    def run_started(self, ctx, phases) -> None:
        self._each("run_started", ctx, phases)

    def phase_started(self, phase) -> None:
        self._each("phase_started", phase)

    def step_finished(self, result) -> None:
        self._each("step_finished", result)

    def run_finished(self, result) -> None:
        self._each("run_finished", result)

    def notice(self, text: str) -> None:
        self._each("notice", text)


def _clean_up(runner: Runner, ctx, settings: Settings) -> None:
    """Phase 5, whenever anything may have been written. A Ctrl-C that lands outside the runner's shielded
    wait (e.g. while a line is printed) restarts it: deleting is idempotent."""
    still_running = runner.drain(min(settings.timeout + 1, DRAIN_LIMIT))
    if still_running:
        runner.reporter.notice(f"{still_running} request(s) cut off by the deadline are still waiting on the "
                               "target; if one lands after this cleanup, `zorora-e2e sweep` removes what it wrote")
    for _ in range(3):
        if not (ctx.wrote or ctx.probe_pending):
            return
        try:
            runner.run_cleanup(plan_module.cleanup_phase(), budget=max(CLEANUP_BUDGET, settings.timeout * 4))
            return
        except KeyboardInterrupt:
            runner.interrupted = True


def validate(settings: Settings, *, console, http_client=None, observers=(), print_verdict: bool = True) -> RunResult:
    """Run the plan against `settings`, reporting live to `console`. Never raises for a failed validation;
    a KeyboardInterrupt ends the run with verdict "interrupted" after cleanup. `observers` are extra
    Reporters (tests use one to break the target at a phase boundary)."""
    started = time.monotonic()
    start_client(settings.storage)  # issue 12: S3 set-up overlaps the first API requests (0.4 finds it ready)
    client = make_client(settings, http_client)
    world = TestWorld.create(settings.customer_id, settings.bucket)
    ctx = plan_module.Context(settings=settings, client=client, raw=RawHttp(settings),
                              store_factory=lambda: Store(make_s3_client(settings.storage), settings.bucket), world=world)
    def warm_up_store():  # boto3 loads while the API answers; a failure shows up again, diagnosed, in 0.4
        try:
            ctx.store
        except Exception:
            pass

    warm_up = threading.Thread(target=warm_up_store, daemon=True)
    warm_up.start()
    recorder = history.Recorder(settings, *_api_sessions(client, ctx.raw))  # issue 12: run history
    reporter = _Fanout([ConsoleReporter(console, print_verdict=print_verdict), *observers, recorder])
    runner = Runner(ctx, reporter, deadline=settings.deadline, redact=make_redactor(settings.secrets))
    phases = [p for p in plan_module.phases() if p.id in settings.phases]
    reporter.run_started(ctx, phases)
    try:
        runner.run_phases(phases)
    except KeyboardInterrupt:  # between waves: the runner had no worker to wait for
        runner.interrupted = True
    finally:
        _clean_up(runner, ctx, settings)
    if runner.interrupted:
        verdict = "interrupted"
    elif runner.gate_failed:
        verdict = "gate_failed"
    elif any(r.status == "fail" for r in runner.results.values()):
        verdict = "failed"
    else:
        verdict = "passed"
    state = ctx.cleanup
    result = RunResult(
        verdict=verdict, customer_id=settings.customer_id, client=client.kind,
        duration_ms=int((time.monotonic() - started) * 1000), steps=list(runner.results.values()),
        cleanup=Cleanup(deleted=state.deleted, leftover=list(state.leftover), kept=state.kept,
                        prefixes=[f"s3://{settings.bucket}/{p}" for p in world.prefixes],
                        sweep_command=plan_module.sweep_command_for(settings)),
        target=settings.display_url, bucket=settings.bucket)
    cold_start = recorder.finish_timing()  # issue 12: a cold start is a detail of the report, not a failure
    if cold_start:
        result.note = cold_start
        reporter.notice(cold_start)
    try:
        reporter.run_finished(result)
    except KeyboardInterrupt:  # cleanup is done; the reports below must still be written
        result.verdict = "interrupted"
    json_written = None
    for path, writer in ((settings.json_path, write_json), (settings.junit_path, write_junit)):
        if path:
            try:
                writer(result, path)
                json_written = json_written or (path if writer is write_json else None)
            except OSError as exc:
                reporter.notice(f"could not write {path}: {exc.strerror or exc}")
    problem = recorder.save(result, json_written)  # issue 12: one line in ~/.zorora/e2e-history.jsonl
    if problem:
        reporter.notice(problem)
    return result


def _api_sessions(client, raw):
    """The requests sessions that carry the run's API requests (timed per route for the history)."""
    holder = getattr(client, "http_client", client)  # Zorora's ZororaHTTPClient, or the direct client
    return [s for s in (getattr(holder, "session", None), getattr(raw, "session", None)) if s is not None]


def sandbox_flags(sandbox, flags: Mapping) -> dict:
    """Flags that point a run at an in-process sandbox; the user's customer/actor/phase flags survive."""
    merged = dict(flags)
    merged.update(base_url=sandbox.api_url, token=sandbox.token, bucket=sandbox.bucket, region=sandbox.region,
                  s3_endpoint_url=sandbox.s3_endpoint_url, aws_access_key_id=sandbox.access_key_id,
                  aws_secret_access_key=sandbox.secret_access_key, use_iam="false", sandbox=True,
                  token_from_ssm=None)
    return merged


def validate_in_sandbox(flags: Mapping, *, console, faults=(), env: Optional[Mapping[str, str]] = None,
                        http_client_factory: Optional[Callable] = None, print_verdict: bool = True) -> RunResult:
    """Start a sandbox in-process, run against it, stop it. `env` supplies only non-target settings
    (customer id, actor, timeouts); the target is always the sandbox."""
    from .sandbox import Sandbox

    keep = {k: v for k, v in (env or {}).items()
            if k in ("TEST_CUSTOMER_ID", "TEST_ACTOR", "NO_COLOR", "ZORORA_E2E_TIMEOUT", "ZORORA_E2E_DEADLINE")}
    with Sandbox(faults=faults, bucket=flags.get("bucket") or DEFAULT_BUCKET) as sandbox:
        settings = resolve(sandbox_flags(sandbox, flags), keep)
        http_client = http_client_factory(settings) if http_client_factory else None
        return validate(settings, console=console, http_client=http_client, print_verdict=print_verdict)


__all__ = ["validate", "validate_in_sandbox", "describe_writes", "needs_confirmation", "SettingsError"]
