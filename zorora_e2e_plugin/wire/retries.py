"""Retries of idempotent reads, and a cap on the requests in flight to one host: the policy the run's adapter
(adapter.py) applies on every session the run's API requests go through (the direct client's, the raw checks',
and, for the run only, Zorora's ZororaHTTPClient.session, whose own retries the run turns off).

- GET/HEAD only: a connection error (nothing sent), 502, 503, 504 or 429 is retried at most RETRIES times,
  with backoff (or the answer's Retry-After, capped at RETRY_AFTER_CAP), never past the run's deadline.
  A read timeout is not retried (a hanging target would cost --timeout three times), nor a connect timeout
  (nothing accepts the connection: a VPN off, a private API reached from outside its VPC).
- POST and every other method: sent once. What happened to a mutation whose answer was lost or a 5xx is
  settled by reading the state it would have changed (plan/p3_promote.py), never by sending it again blindly.
- At most MAX_PER_HOST requests in flight per host (a stage's or usage plan's burst limit can be as low as 5; the
  preflight sends 8 at once).

Each retry is recorded: in the step's own log (`step_log()`, a context variable the plan sets per step:
the step passes "with a warning: passed on attempt 2 (HTTP 503)"), and on the adapter (history's retries
per route: watch.py).
"""

from __future__ import annotations

import contextvars
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

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


_step_log: contextvars.ContextVar[list[Retry] | None] = contextvars.ContextVar("zorora_e2e_retries", default=None)


def begin_step_log() -> list[Retry]:
    """A fresh retry log for the calling step (its worker thread, and the threads it starts with
    copy_context)."""
    log: list[Retry] = []
    _step_log.set(log)
    return log


def step_log() -> list[Retry] | None:
    return _step_log.get()


def describe(retries: list[Retry], passed: bool = True) -> str:
    """One phrase per route, by its last attempt: 'GET /diff: passed on attempt 2 (HTTP 503)', or 'GET /diff:
    HTTP 503 on each of 3 attempts' when the retries ran out."""
    last: dict[str, Retry] = {}
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
_host_slots: dict[str, threading.BoundedSemaphore] = {}


def host_slot(url: str) -> threading.BoundedSemaphore:
    host = urlsplit(url).netloc.lower()
    with _host_lock:
        slot = _host_slots.get(host)
        if slot is None:
            slot = _host_slots[host] = threading.BoundedSemaphore(MAX_PER_HOST)
        return slot


def retry_after_seconds(value: str | None) -> float | None:
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
