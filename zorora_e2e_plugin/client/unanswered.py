"""Mutations whose answer never came: a POST (promote, rollback) that timed out or that API Gateway answered
with 504 while the Lambda may run on (its limit is ~29 s, the Lambda's own up to 15 minutes). Its effects
(registry, archive, audit) may land in S3 after the cleanup, so the cleanup waits for them (run/cleanup.py).

Recorded without touching the clients: the ledger is one of the run's listeners (wire/watch.py), which hear of
each request of the sessions the run's API clients use (Zorora's ZororaHTTPClient.session, the direct client's,
the raw probes').
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from ..wire.watch import Call, Listener

GATEWAY_GAVE_UP = {504}  # API Gateway's integration timeout: the Lambda may still be running


@dataclasses.dataclass(frozen=True)
class Unanswered:
    method: str
    path: str
    why: str  # "no answer within --timeout", "HTTP 504 from API Gateway", ...
    sent: float  # time.monotonic() when it was sent
    ended: float = 0.0  # time.monotonic() when the run gave up on its answer

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.why})"


def _never_sent(exc: BaseException) -> bool:
    """Connection refused or the connect timed out: the request never reached the API."""
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return isinstance(exc, requests.exceptions.ConnectionError) and (
        "NewConnectionError" in text or "Failed to establish" in text or "NameResolution" in text
    )


class MutationLedger(Listener):
    """The run's mutations that got no answer (thread-safe): a watch's Listener, of the API's POSTs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.unanswered: list[Unanswered] = []
        self.active = True

    def sent(self, call: Call) -> None:
        if self.active and call.kind == "api" and call.method == "POST":
            call.notes[id(self)] = urlsplit(call.url).path

    def answered(self, call: Call, response: Any) -> None:  # a requests Response (an API call)
        path = call.notes.pop(id(self), None)
        if path is not None and response.status_code in GATEWAY_GAVE_UP:
            self._add(
                Unanswered("POST", path, f"HTTP {response.status_code} from the gateway", call.mono, time.monotonic())
            )

    def failed(self, call: Call, error: BaseException) -> None:
        path = call.notes.pop(id(self), None)
        if path is not None and isinstance(error, Exception) and not _never_sent(error):
            self._add(Unanswered("POST", path, f"no answer: {type(error).__name__}", call.mono, time.monotonic()))

    def _add(self, entry: Unanswered) -> None:
        with self._lock:
            self.unanswered.append(entry)

    def settle(self, route: str) -> None:
        """The step read the state this mutation changes and found it applied (plan/settle.py): its effects have
        landed, so the cleanup has nothing of it to wait for."""
        with self._lock:
            self.unanswered = [u for u in self.unanswered if not u.path.endswith(route)]

    def pending(self) -> list[Unanswered]:
        with self._lock:
            return list(self.unanswered)

    def close(self) -> None:
        """Nothing more is recorded (a POST sent before is, as it ends)."""
        self.active = False
