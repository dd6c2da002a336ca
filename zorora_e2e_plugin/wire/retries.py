"""Retries of idempotent reads, and a cap on the requests in flight to one host: one requests adapter,
mounted on every session the run's API requests go through (the direct client's, the raw checks', and,
for the run only, Zorora's ZororaHTTPClient.session, whose own retries the run turns off).

- GET/HEAD only: a connection error (nothing sent), 502, 503, 504 or 429 is retried at most RETRIES times,
  with backoff (or the answer's Retry-After, capped at RETRY_AFTER_CAP), never past the run's deadline.
  A read timeout is not retried (a hanging target would cost --timeout three times).
- POST and every other method: sent once. What happened to a mutation whose answer was lost or a 5xx is
  settled by reading the state it would have changed (plan/p3_promote.py), never by sending it again blindly.
- At most MAX_PER_HOST requests in flight per host (a stage's or usage plan's burst limit can be as low as 5; the
  preflight sends 8 at once).

Each retry is recorded: in the step's own log (`step_log()`, a context variable the plan sets per step:
the step passes "with a warning: passed on attempt 2 (HTTP 503)"), and on the adapter (history's retries
per route).
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable, Dict, List, Optional
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

from ..core.outcomes import RUN_OVER

RETRIES = 2  # at most two more attempts of one read
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF = (0.25, 0.75)  # seconds before the 2nd and 3rd attempt (plus jitter), unless Retry-After says more
RETRY_AFTER_CAP = 5.0  # a Retry-After beyond this is waited for only up to this
MAX_PER_HOST = 5  # requests in flight to one host, across the process (a stage's burst limit can be 5)
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class Retry:
    """One retried attempt: `route` ("GET /diff"), the attempt that failed (1-based) and why ("HTTP 503")."""

    route: str
    attempt: int
    reason: str
    waited: float = 0.0
    final: bool = False  # the last attempt, which failed too: no retry followed


_step_log: contextvars.ContextVar[Optional[List[Retry]]] = contextvars.ContextVar("zorora_e2e_retries",
                                                                                   default=None)


def begin_step_log() -> List[Retry]:
    """A fresh retry log for the calling step (its worker thread, and the threads it starts with
    copy_context)."""
    log: List[Retry] = []
    _step_log.set(log)
    return log


def step_log() -> Optional[List[Retry]]:
    return _step_log.get()


def describe(retries: List[Retry], passed: bool = True) -> str:
    """One phrase per route, by its last attempt: 'GET /diff: passed on attempt 2 (HTTP 503)', or 'GET /diff:
    HTTP 503 on each of 3 attempts' when the retries ran out."""
    last: Dict[str, Retry] = {}
    for retry in list(retries):
        if retry.route not in last or retry.attempt >= last[retry.route].attempt:
            last[retry.route] = retry
    phrases = []
    for route, r in last.items():
        if r.final:
            phrases.append(f"{route}: {r.reason} on each of {r.attempt} attempts")
        elif passed:
            phrases.append(f"{route}: passed on attempt {r.attempt + 1} ({r.reason})")
        else:
            phrases.append(f"{route}: retried {r.attempt} time{'s' if r.attempt > 1 else ''} ({r.reason})")
    return "; ".join(phrases)


_host_lock = threading.Lock()
_host_slots: Dict[str, threading.BoundedSemaphore] = {}


def host_slot(url: str) -> threading.BoundedSemaphore:
    host = urlsplit(url).netloc.lower()
    with _host_lock:
        slot = _host_slots.get(host)
        if slot is None:
            slot = _host_slots[host] = threading.BoundedSemaphore(MAX_PER_HOST)
        return slot


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """Retry-After as seconds (a number, or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class ReadRetryAdapter(HTTPAdapter):
    """requests' HTTPAdapter with read retries and the per-host cap (see the module's docstring).
    `deadline_at` (time.monotonic()) and `closed` (a callable: the run is over) stop retries early."""

    def __init__(self, base_path: str = "", deadline_at=None,
                 closed: Optional[Callable[[], bool]] = None, **kwargs):
        super().__init__(**kwargs)
        self.base_path = base_path.rstrip("/")
        self.deadline_at = deadline_at
        self.closed = closed or (lambda: False)
        self.retries: List[Retry] = []  # every retry through this adapter (history: retries per route)
        self.last = threading.local()  # per thread: the last answer's headers (Zorora's HTTPError has none)
        self._lock = threading.Lock()

    def route(self, method: str, url: str) -> str:
        path = urlsplit(url).path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path):]
        return f"{method.upper()} {path or '/'}"

    def send(self, request, **kwargs):
        import requests

        if request.method.upper() not in READ_METHODS:
            with host_slot(request.url):
                self._not_after_the_run()
                return self._remember(super().send(request, **kwargs))
        attempt = 1
        while True:  # the host's slot is held per attempt, not while waiting to retry
            try:
                with host_slot(request.url):
                    self._not_after_the_run()
                    response = super().send(request, **kwargs)
            except requests.exceptions.ConnectionError:  # ConnectTimeout too; a read timeout is not retried
                if not self._may_retry(attempt, 0.0):
                    if attempt > 1:
                        self._record(Retry(self.route(request.method, request.url), attempt, "connection error",
                                           final=True))
                    raise
                reason, wait = "connection error", self._backoff(attempt)
            else:
                self._remember(response)
                if response.status_code not in RETRY_STATUSES:
                    return response
                asked = retry_after_seconds(response.headers.get("Retry-After"))
                wait = min(RETRY_AFTER_CAP, asked) if asked is not None else self._backoff(attempt)
                if not self._may_retry(attempt, wait):
                    if attempt > 1:
                        self._record(Retry(self.route(request.method, request.url), attempt,
                                           f"HTTP {response.status_code}", final=True))
                    return response
                reason = f"HTTP {response.status_code}"
                response.close()
            self._record(Retry(self.route(request.method, request.url), attempt, reason, wait))
            time.sleep(wait)
            attempt += 1

    def _not_after_the_run(self) -> None:
        """A request that waited for a slot while the run ended is not sent (its cleanup has started)."""
        if self.closed():
            import requests

            raise requests.exceptions.ConnectionError(RUN_OVER)

    def _remember(self, response):
        self.last.headers = dict(response.headers)
        return response

    @staticmethod
    def _backoff(attempt: int) -> float:
        base = BACKOFF[min(attempt, len(BACKOFF)) - 1]
        return base + random.uniform(0, base / 2)

    def _may_retry(self, attempt: int, wait: float) -> bool:
        if attempt > RETRIES or self.closed():
            return False
        deadline = self.deadline_at() if callable(self.deadline_at) else self.deadline_at
        return deadline is None or time.monotonic() + wait < deadline

    def _record(self, retry: Retry) -> None:
        with self._lock:
            self.retries.append(retry)
        log = _step_log.get()
        if log is not None:
            log.append(retry)

    def last_headers(self) -> Dict[str, str]:
        return dict(getattr(self.last, "headers", None) or {})


def mount(session, base_url: str, closed: Optional[Callable[[], bool]] = None) -> ReadRetryAdapter:
    """Mount a ReadRetryAdapter for http:// and https:// on `session`; returns it. `unmount` restores."""
    adapter = ReadRetryAdapter(urlsplit(base_url).path, closed=closed)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter


def adapter_of(session) -> Optional[ReadRetryAdapter]:
    adapters = getattr(session, "adapters", None) or {}
    return next((a for a in adapters.values() if isinstance(a, ReadRetryAdapter)), None)


def retries_by_route(sessions) -> Dict[str, int]:
    """'GET /diff' -> retries, over the run's sessions (each adapter counted once)."""
    counts: Dict[str, int] = {}
    seen = set()
    for session in sessions:
        adapter = adapter_of(session)
        if adapter is None or id(adapter) in seen:
            continue
        seen.add(id(adapter))
        for retry in list(adapter.retries):
            if retry.final:
                continue
            route = "/" + retry.route.split(" ", 1)[-1].lstrip("/").split("/", 1)[0]
            key = f"{retry.route.split(' ', 1)[0]} {route}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def set_deadline(sessions, deadline_at) -> None:
    """The run's deadline (time.monotonic(), or a callable giving it: a walkthrough's pauses move it) for every
    adapter on these sessions: no retry past it."""
    for session in sessions:
        adapter = adapter_of(session)
        if adapter is not None:
            adapter.deadline_at = deadline_at
