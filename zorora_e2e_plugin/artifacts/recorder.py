"""A recorder of the validator's own requests: every API request (the direct client's, Zorora's
ZororaHTTPClient's, the raw probes') and every S3 request (botocore), with time, method, status, ms, URL,
headers and capped bodies, redacted as it is recorded (nothing secret is ever kept), each tagged with the
plan step that sent it. It feeds `--log-requests`, `--har`, `--html`, the curl lines and JUnit's routes.

How it listens, and lets go again (the REPL's client and the process's S3 client outlive a run):
  - a requests.Session: its `send` is wrapped by an instance attribute (the class's method is untouched;
    `detach` deletes the attribute, or, when someone wrapped it again on top, turns ours into a pass-through).
    Unlike a response hook, this sees requests that got no answer (timeouts, refused connections) too.
  - a botocore client: `before-send` and `response-received` handlers on its event system, registered with a
    unique id and unregistered on detach. Both fire in the thread that sends, one attempt at a time.
Which step sent a request: the runner names each step's thread `zorora-e2e-step-<id>` (and the plan's pools
are named after the thread that starts them); a request from any other thread goes to the one step that was
running then, else to the phase (a phase's setup, the state views).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..model import Reporter
from .exchange import BODY_LIMIT, SECRET_HEADERS, SECRET_QUERY, Exchange
from .taps import S3Tap, SessionTap

STEP_THREAD = re.compile(r"zorora-e2e-step-([0-9]+\.[0-9]+)")


class RequestRecorder(SessionTap, S3Tap, Reporter):
    """Records the run's requests; also a Reporter (step windows, for requests from pool threads)."""

    def __init__(self, redact: Callable[[str], str], token: str = "", base_url: str = ""):
        self.redact = redact
        self.token = token or ""
        self.base_path = urlsplit(base_url).path.rstrip("/") if base_url else ""
        self.exchanges: List[Exchange] = []
        self.listeners: List[Callable[[Exchange], None]] = []  # called as each request ends (--log-requests)
        self.t0 = time.time()
        self.t0_mono = time.monotonic()
        self._lock = threading.Lock()
        self._sessions: List = []
        self._s3_clients: List = []
        self._pending = threading.local()  # S3: the attempt this thread is sending
        self._phase: Optional[int] = None
        self._running: Dict[str, Tuple[int, float]] = {}  # step id -> (phase, monotonic start)
        self.windows: Dict[str, Tuple[int, float, float]] = {}  # step id -> (phase, start, end) monotonic
        self._uid = f"zorora-e2e-recorder-{id(self)}"

    # -- redaction ---------------------------------------------------------------------------------
    def _headers(self, headers) -> List[Tuple[str, str]]:
        out = []
        for name, value in (headers or {}).items():
            name = name.decode() if isinstance(name, bytes) else str(name)
            value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            if name.lower() in SECRET_HEADERS:
                scheme = value.split(" ", 1)[0]
                value = f"{scheme} ***" if " " in value and re.fullmatch(r"[A-Za-z][\w-]{0,24}", scheme) else "***"
            out.append((self.redact(name), self.redact(value)))
        return out

    def _url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        if parts.hostname and ":" in parts.hostname:
            netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.lower() in SECRET_QUERY for k, _ in pairs):
                query = urlencode([(k, "***" if k.lower() in SECRET_QUERY else v) for k, v in pairs])
        return self.redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")))

    # -- steps --------------------------------------------------------------------------------------
    def phase_started(self, phase) -> None:
        self._phase = phase.id

    def step_started(self, step) -> None:
        with self._lock:
            self._running[step.id] = (self._phase, time.monotonic())

    def step_finished(self, result) -> None:
        with self._lock:
            phase, start = self._running.pop(result.id, (result.phase, None))
            if start is not None:
                self.windows[result.id] = (result.phase, start, start + result.duration_ms / 1000)

    def _owner(self, mono: float) -> Tuple[str, Optional[int]]:
        name = threading.current_thread().name
        found = STEP_THREAD.search(name)
        with self._lock:
            if found:
                step = found.group(1)
                phase = self._running.get(step, (None,))[0]
                return step, phase if phase is not None else int(step.split(".")[0])
            if not name.startswith("MainThread") and len(self._running) == 1:  # (a pool the main thread started)
                step, (phase, _start) = next(iter(self._running.items()))
                return step, phase
            return "", self._phase

    # -- recording ----------------------------------------------------------------------------------
    def _add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
        for listener in list(self.listeners):
            try:
                listener(exchange)
            except Exception:  # a log line must never break a request
                pass

    def _had_token(self, headers) -> bool:
        value = str((headers or {}).get("Authorization", "") or "")
        return bool(self.token) and value == f"Bearer {self.token}"

    def detach(self) -> None:
        """Every session and client as it was; the exchanges stay."""
        self._detach_sessions()
        self._detach_s3()

    # -- reading ---------------------------------------------------------------------------------------
    def snapshot(self) -> List[Exchange]:
        with self._lock:
            return sorted(self.exchanges, key=lambda e: e.mono)

    def for_step(self, step_id: str) -> List[Exchange]:
        return [e for e in self.snapshot() if e.step == step_id]


__all__ = ["BODY_LIMIT", "Exchange", "RequestRecorder"]
