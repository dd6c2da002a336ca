"""Mutations whose answer never came: a POST (promote, rollback) that timed out or that API Gateway answered
with 504 while the Lambda may run on (its limit is ~29 s, the Lambda's own up to 15 minutes). Its effects
(registry, archive, audit) may land in S3 after the cleanup, so the cleanup waits for them (run/cleanup.py).

Recorded without touching the clients: `send` is wrapped on the requests sessions the run's API clients use
(Zorora's ZororaHTTPClient.session, the direct client's, the raw probes'), and unwrapped when the run ends.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import List
from urllib.parse import urlsplit

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
        "NewConnectionError" in text or "Failed to establish" in text or "NameResolution" in text)


class MutationLedger:
    """The run's mutations that got no answer (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.unanswered: List[Unanswered] = []
        self._wrapped: list = []  # (session, wrapper)
        self.active = True

    def watch(self, *sessions) -> "MutationLedger":
        for session in sessions:
            if session is None or any(s is session for s, _ in self._wrapped):
                continue
            original = session.send
            ledger = self

            def send(request, *args, _original=original, **kwargs):
                if not ledger.active or str(getattr(request, "method", "")).upper() != "POST":
                    return _original(request, *args, **kwargs)
                sent = time.monotonic()
                path = urlsplit(str(getattr(request, "url", ""))).path
                try:
                    response = _original(request, *args, **kwargs)
                except Exception as exc:
                    if not _never_sent(exc):
                        ledger._add(Unanswered("POST", path, f"no answer: {type(exc).__name__}", sent,
                                               time.monotonic()))
                    raise
                if response.status_code in GATEWAY_GAVE_UP:
                    ledger._add(Unanswered("POST", path, f"HTTP {response.status_code} from the gateway", sent,
                                           time.monotonic()))
                return response

            session.send = send
            self._wrapped.append((session, send))
        return self

    def _add(self, entry: Unanswered) -> None:
        with self._lock:
            self.unanswered.append(entry)

    def settle(self, route: str) -> None:
        """The step read the state this mutation changes and found it applied (plan/settle.py): its effects have
        landed, so the cleanup has nothing of it to wait for."""
        with self._lock:
            self.unanswered = [u for u in self.unanswered if not u.path.endswith(route)]

    def pending(self) -> List[Unanswered]:
        with self._lock:
            return list(self.unanswered)

    def close(self) -> None:
        """Unwrap the sessions (a REPL's Zorora client outlives the run); a wrapper something else wrapped
        again stays, passing everything through."""
        self.active = False
        for session, wrapper in self._wrapped:
            if session.__dict__.get("send") is wrapper:
                del session.send
        self._wrapped = []
