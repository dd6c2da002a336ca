"""What a run leaves to share: the recorder of its own requests (recorder.py) and the files made from it,
`--html` (html_report.py, timeline.py, state.py), `--har` (har.py), the curl lines (curl.py), the CI summary
(summary_md.py). `RunArtifacts` is the one object the engine holds: its recorder listens to the run's watch
(wire/watch.py) while the run runs and stops at the end; then it writes what was asked for.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from ...core.outcomes import FAIL
from ..files import Written, could_not_write, open_report
from .recorder import Exchange, RequestRecorder

if TYPE_CHECKING:
    from ...core.steps import Reporter
    from .state import StateCollector

__all__ = ["RunArtifacts", "Exchange", "RequestRecorder"]


class RunArtifacts:
    def __init__(
        self,
        settings,
        redact: Callable[[str], str],
        log: Callable[[str], None] | None = None,
        debug: bool = False,
        sandbox_goes: bool = False,
    ):
        self.settings = settings
        self.outputs = settings.outputs
        self.debug = debug  # --debug: the failing steps' curl lines are shown too
        self.sandbox_goes = sandbox_goes  # the run's own sandbox stops with it: its curl lines cannot be sent again
        self.redact = redact
        self.recorder = RequestRecorder(redact, token=settings.token, base_url=settings.base_url)
        self.state: StateCollector | None = None  # with --html
        self.started = time.monotonic()
        self.pauses: list[tuple] = []  # (monotonic start, seconds) spent waiting for a person (the run adds them)
        if log is not None:
            self.recorder.listeners.append(_log_lines(log))

    def reporters(self, world, open_store) -> list:
        out: list[Reporter] = [self.recorder]
        if self.outputs.html_path:
            from .state import StateCollector

            self.state = StateCollector(world, open_store)
            out.insert(0, self.state)  # its reads before a step's window opens, and after it closes
        return out

    def finish(self) -> None:
        self.recorder.stop()

    # -- per step ---------------------------------------------------------------------------------------
    def curls(self, result) -> dict[str, str]:
        from .curl import GONE, JUDGES, TOKEN, curl_line, failing_request

        lines = {}
        for step in result.steps:
            if step.status == FAIL:
                exchange = failing_request(self.recorder.for_step(step.id)) or failing_request(
                    self.recorder.for_step(JUDGES.get(step.id, ""))
                )
                if exchange is not None:
                    lines[step.id] = curl_line(exchange, GONE if self.sandbox_goes else TOKEN)
        return lines

    def step_extras(self, result) -> dict[str, dict]:
        """For --json (`curl`) and --junit (`route`, `ms`): what each step sent."""
        base = urlsplit(self.settings.base_url).path.rstrip("/")
        extras: dict[str, dict] = {}
        for exchange in self.recorder.snapshot():
            if exchange.step:
                routes = extras.setdefault(exchange.step, {"routes": []})["routes"]
                route = exchange.route(base)
                if route not in routes:
                    routes.append(route)
        for step_id, line in self.curls(result).items():
            extras.setdefault(step_id, {"routes": []})["curl"] = line
        return extras

    # -- files ------------------------------------------------------------------------------------------
    def write(self, result, header, cold_seconds: float | None, *, env=None) -> Written:
        """Writes --html, --har and the CI summary. Returns what was written (the CI summary, appended to CI's own
        file, is not announced), what could not be (also recorded on the result) and, with --debug, each failing
        step's curl line (`notes`)."""
        o = self.outputs
        curls = self.curls(result)
        done = Written(
            notes=[
                f"step {step_id}, its request again (with ONA_API_TOKEN set): {line}" for step_id, line in curls.items()
            ]
            if self.debug and not self.sandbox_goes
            else []
        )
        if self.debug and self.sandbox_goes and curls:  # no line that would send Zorora's token nowhere
            done.notes.append(
                f"--debug: no curl line for step {', '.join(curls)}: the sandbox it was sent to "
                "stopped with the run (its URL and token are gone); re-run to see it again"
            )
        jobs = (
            (o.har_path, "--har", lambda p: self._har(p, result)),
            (o.html_path, "--html", lambda p: self._html(p, result, header, curls, cold_seconds, env)),
            (o.summary_md_path, "--summary-md", lambda p: self._summary(p, result, header, curls)),
        )
        for path, flag, job in jobs:
            if not path:
                continue
            try:
                job(path)
                if flag != "--summary-md":  # appended to CI's own file: not announced
                    done.paths[flag] = path
            except (OSError, ValueError) as exc:
                done.errors.append(could_not_write(flag, path, exc))
        result.report_errors.extend(done.errors)
        return done

    def _titles(self, result) -> dict[str, str]:
        return {step.id: step.title for step in result.steps}

    def _har(self, path: str, result) -> None:
        from ...version import __version__
        from . import har

        har.write(path, self.recorder.snapshot(), titles=self._titles(result), version=__version__)

    def _html(self, path: str, result, header, curls, cold_seconds, env) -> None:
        from ...history import file, record
        from .html_report import Requests, render

        exchanges = self.recorder.snapshot()
        cold = None
        if cold_seconds is not None:
            api = [e for e in exchanges if e.kind == "api"]
            cold = min(api, key=lambda e: abs(e.seconds - cold_seconds)) if api else None
        runs: list[dict] = []
        where = record.history_path(env)
        if where:
            records, _notes = file.read(where)
            host = record.target_host(self.settings.base_url, self.settings.sandbox)
            runs = [r for r in records if r.get("target") == host][-19:]
        from ...history.readiness import recorded

        runs.append(
            {
                "started": result.started_at,
                "verdict": result.verdict,
                "kind": "this run",
                "duration_s": result.duration_ms / 1000,
                "readiness": recorded(result.readiness),
            }
        )
        requests = Requests(
            exchanges,
            start=self.recorder.t0_mono,
            windows=dict(self.recorder.windows),
            cold=cold,
            pauses=list(self.pauses),
        )
        page = render(
            result, header=header, requests=requests, curls=curls, state=self.state, history=runs, redact=self.redact
        )
        with open_report(path) as handle:
            handle.write(page)

    def _summary(self, path: str, result, header, curls) -> None:
        from . import summary_md

        summary_md.append(
            path,
            summary_md.summary(
                result,
                header=header,
                curls=curls,
                html_path=self.outputs.html_path or "",
                har_path=self.outputs.har_path or "",
            ),
        )


def _log_lines(sink: Callable[[str], None]) -> Callable[[Exchange], None]:
    """--log-requests in a run against a deployment: each of the validator's own requests as a line, in the
    sandbox's request-log format (requestlog.py: time, method, status, ms, path, actor)."""
    from ...sandbox.requestlog import RequestLogFormat

    fmt = RequestLogFormat((), kinds=("api", "s3"))

    class Line:
        def __init__(self, e: Exchange):
            parts = urlsplit(e.url)
            self.kind, self.method, self.status = e.kind, e.method, e.status
            self.duration, self.at = e.seconds, e.started
            self.path = parts.path if e.kind == "api" else f"[S3 {e.operation}] {parts.path}"
            self.query = parts.query
            actor = next((v for n, v in e.request_headers if n.lower() == "x-actor"), "")
            self.actor = actor if e.kind == "api" else ""

    def listen(exchange: Exchange) -> None:
        for line in fmt.lines(Line(exchange)):
            sink("    " + line)

    return listen
