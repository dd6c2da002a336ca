"""Run history: one JSON line per run in ~/.zorora/e2e-history.jsonl (view.py shows it).

    ZORORA_E2E_HISTORY=0       no history
    ZORORA_E2E_HISTORY=PATH    history in PATH instead

Each run appends one line with a single O_APPEND write, so parallel runs never interleave or lose
lines. What a line holds: start time (UTC), the target's host (never credentials, a path or a query),
client kind, run kind (preflight / full / phases), verdict, duration, per-phase wall times, per-route
API latencies (count, median, max), whether the first request was a cold start, and the JSON report's
path when one was written. `zorora-e2e history` and `ml-validate-e2e --history` render it (view.py).

The file itself (appending, bounded size, reading the tail) is file.py.

Also here: the per-route request timer (one of the run's listeners, wire/watch.py, hearing of each request of
the sessions the API clients use) and the cold-start rule. Importing this module is cheap (no rich, no requests).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlsplit

from ..wire.watch import Listener
from .file import append

ENV = "ZORORA_E2E_HISTORY"
DEFAULT_PATH = os.path.join("~", ".zorora", "e2e-history.jsonl")
ROUTES = ("/challengers", "/metrics", "/diff", "/promote", "/rollback", "/audit-log")
OFF = {"0", "off", "false", "no"}

COLD_START_MIN_S = 1.0  # the first request took at least this long ...
COLD_START_FACTOR = 5.0  # ... and at least this many times the median of the others


def median(values) -> float:
    """statistics.median without importing statistics (decimal, fractions, random: ~9 ms on every run's path)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def history_path(env=None) -> str | None:
    """Where runs are recorded, or None when ZORORA_E2E_HISTORY=0."""
    value = (os.environ if env is None else env).get(ENV, "").strip()
    if value.lower() in OFF:
        return None
    return os.path.expanduser(value or DEFAULT_PATH)


# ------------------------------------------------------------------------------------- request timing


class RequestTimer(Listener):
    """Per-route latencies of the API requests of one run (a watch's Listener: Zorora's ZororaHTTPClient.session,
    the direct client's, the raw probes'): for each answered request, the seconds until its answer's headers
    came, over all its attempts. `stop()`: nothing more is timed."""

    def __init__(self, base_url: str):
        self.base_path = urlsplit(base_url).path.rstrip("/")
        self.samples: list[tuple[str, float, float]] = []  # (route, started, seconds)
        self.answers: list[tuple[float, float]] = []  # (started, seconds of the attempt that answered): cold starts
        self._lock = threading.Lock()
        self.timing = True

    def route(self, method: str, url: str) -> str:
        """'GET /metrics' for .../prod/api/v1/metrics/C/challenger_T: the route only, never ids or queries."""
        path = urlsplit(url).path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :]
        segment = "/" + path.lstrip("/").split("/", 1)[0]
        return f"{(method or '?').upper()} {segment if segment in ROUTES else 'other'}"

    def answered(self, call, answer) -> None:
        if not self.timing or call.kind != "api" or call.headers_after is None:
            return
        route = self.route(call.method, call.url)
        last = call.last_attempt_after if call.last_attempt_after is not None else call.headers_after
        with self._lock:
            self.samples.append((route, call.mono, call.headers_after))
            self.answers.append((call.mono, last))

    def stop(self) -> None:
        self.timing = False

    def routes(self) -> dict[str, dict]:
        by_route: dict[str, list[float]] = {}
        with self._lock:
            for route, _started, seconds in self.samples:
                by_route.setdefault(route, []).append(seconds)
        return {
            route: {
                "count": len(values),
                "median_ms": round(median(values) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
            }
            for route, values in sorted(by_route.items())
        }

    def cold_start(self) -> float | None:
        """Judged on the attempts that answered: a retry's backoff (a gateway's 503s) is not a cold start."""
        with self._lock:
            timings = list(self.answers)
        return cold_start_seconds(timings)


def cold_start_seconds(timings: Iterable[tuple[float, float]]) -> float | None:
    """The first request's duration when it was a cold start, else None. `timings` are (started, seconds).

    "The first request" is the slowest of those sent before the earliest one was answered (a run opens
    with a few concurrent requests; the one that met the cold Lambda is not always the first sent). It is
    a cold start when it took >= 1 s and >= 5x the median of all the other requests."""
    ordered = sorted(timings)
    if len(ordered) < 2:
        return None
    first_end = ordered[0][0] + ordered[0][1]
    opening = [i for i, (started, _s) in enumerate(ordered) if started < first_end] or [0]
    slowest = max(opening, key=lambda i: ordered[i][1])
    first = ordered[slowest][1]
    others = [seconds for i, (_started, seconds) in enumerate(ordered) if i != slowest]
    if first >= COLD_START_MIN_S and first >= COLD_START_FACTOR * median(others):
        return first
    return None


def cold_start_detail(seconds: float, sandbox: bool = False) -> str:
    """The report's detail. In a sandbox there is no Lambda: a slow first request there is its cold-start
    fault, or the sandbox warming up in this process (in a fresh REPL, beside the host's start-up threads)."""
    if sandbox:
        return (
            f"cold start: first request {seconds:.1f} s (sandbox: its cold-start fault, or its first requests "
            "in this process)"
        )
    return f"cold start: first request {seconds:.1f} s (container-image Lambda starting)"


# ------------------------------------------------------------------------------------- recording


def target_host(base_url: str, sandbox: bool = False) -> str:
    """The host (and a non-default port) only: no user, password, path or query."""
    if sandbox:
        return "sandbox"
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not ((parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)):
        host = f"{host}:{port}"
    return host


def run_kind(phases) -> str:
    phases = set(phases)
    if phases == {0}:
        return "preflight"
    if phases >= {0, 1, 2, 3, 4, 5}:
        return "full"
    return "phases"


def _retries(retries: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Reads the run retried, per route ('GET /diff': 2); {} when none was."""
    try:
        return dict(retries())
    except Exception:  # never let the history break a run
        return {}


class Recorder:
    """Watches one run's requests (its `timer`, for routes, listens to the run's watch) and appends its line (phase
    times: the runner's). `retries()`: the run's retries per route (wire/watch.py's Watch.retries_by_route)."""

    def __init__(self, settings, retries: Callable[[], dict[str, int]] = dict):
        self.settings = settings
        self.started_utc = datetime.now(timezone.utc)
        self.timer = RequestTimer(settings.base_url)
        self.retries = retries
        self.cold: float | None = None  # the first request's seconds, when it was a cold start

    def finish_timing(self) -> str | None:
        """Stop timing; the cold-start detail, if there was one."""
        self.timer.stop()
        self.cold = self.timer.cold_start()
        return cold_start_detail(self.cold, self.settings.sandbox) if self.cold is not None else None

    def record(self, result, json_report: str | None = None) -> dict:
        from .readiness import recorded

        s = self.settings
        return {
            "v": 1,
            "started": self.started_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "target": target_host(s.base_url, s.sandbox),
            "client": result.client,
            "kind": "readiness" if getattr(result, "readiness", None) else run_kind(s.phases),
            "phases": sorted(s.phases),
            "verdict": result.verdict,
            "duration_s": round(result.duration_ms / 1000, 3),
            "phase_s": {str(p): round(seconds, 3) for p, seconds in sorted(result.phase_seconds.items())},
            "routes": self.timer.routes(),
            "retries": _retries(self.retries),
            "cold_start": self.cold is not None,
            "first_request_s": round(self.cold, 3) if self.cold is not None else None,
            "json_report": os.path.abspath(json_report) if json_report else None,
            "readiness": recorded(getattr(result, "readiness", None)),  # --for: whose, which challenger, answer
        }

    def save(self, result, json_report: str | None = None, env=None) -> str | None:
        """Append the run's line. Returns an error text when it could not be written (never raises)."""
        path = history_path(env)
        if path is None:
            return None
        try:
            append(self.record(result, json_report), path)
        except Exception as exc:  # the history must never break a run
            return f"run history not written to {path}: {getattr(exc, 'strerror', None) or exc}"
        return None


__all__ = ["Recorder", "RequestTimer", "cold_start_detail", "cold_start_seconds", "history_path", "median"]
