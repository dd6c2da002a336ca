"""A recorder of the validator's own requests: every API request (the direct client's, Zorora's
ZororaHTTPClient's, the raw probes') and every S3 request (botocore), with time, method, status, ms, URL,
headers and capped bodies, redacted as it is recorded (nothing secret is ever kept), each tagged with the
plan step that sent it. It feeds `--log-requests`, `--har`, `--html`, the curl lines and JUnit's routes.
An `Exchange` is one request and its answer as the recorder keeps it.

How it listens: it is one of the run's listeners (wire/watch.py), which hear of each call of a watched session
(one per `send`, whatever its retries; requests that got no answer too) and of each attempt of an S3 request, and
it touches no session or client itself. A streamed answer's body is kept as the client reads it. `stop()`: nothing
more is recorded (what is recorded stays).
Which step sent a request: the runner names each step's thread `zorora-e2e-step-<id>` (and the plan's pools
are named after the thread that starts them); a request from any other thread goes to the one step that was
running then, else to the phase (a phase's setup, the state views).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...core.steps import Reporter
from ...wire.watch import Listener

BODY_LIMIT = 8 * 1024  # characters of a body kept (after redaction)
SECRET_HEADERS = {"authorization", "proxy-authorization", "x-amz-security-token", "cookie", "set-cookie", "x-api-key"}
SECRET_QUERY = {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid"}
ROUTES = ("/challengers", "/metrics", "/diff", "/promote", "/rollback", "/audit-log")


@dataclasses.dataclass
class Exchange:
    """One request and its answer, redacted. `status` 0: no answer (`error` says why)."""

    kind: str  # "api" | "s3"
    method: str
    url: str
    started: float  # wall clock (epoch seconds)
    seconds: float
    status: int = 0
    error: str = ""
    request_headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    request_body: str = ""
    response_headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    response_body: str | None = None  # None: not read by the client (streamed) or not text
    step: str = ""  # the plan step that sent it ("" when none was running)
    phase: int | None = None
    had_token: bool = False  # it carried `Authorization: Bearer <the token>`
    operation: str = ""  # S3's operation name (PutObject, ...)
    mono: float = 0.0  # monotonic start, for ordering against step windows

    @property
    def ms(self) -> float:
        return self.seconds * 1000

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def route(self, base_path: str = "") -> str:
        """'GET /metrics' (API, ids and query left out) or 'S3 PutObject'."""
        if self.kind == "s3":
            return f"S3 {self.operation or self.method}"
        path = urlsplit(self.url).path
        if base_path and path.startswith(base_path):
            path = path[len(base_path) :]
        segment = "/" + path.lstrip("/").split("/", 1)[0]
        return f"{self.method} {segment if segment in ROUTES else path or '/'}"


def capped(text: str, redact: Callable[[str], str]) -> str:
    """Redact first, then cut: a token cut in half would slip past the redaction."""
    return redact(text[: BODY_LIMIT + 1024])[:BODY_LIMIT] + ("…" if len(text) > BODY_LIMIT else "")


def as_text(body) -> str | None:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if isinstance(body, (bytes, bytearray)):
        return bytes(body).decode("utf-8", errors="replace")
    return None  # a stream or file: not read here


STEP_THREAD = re.compile(r"zorora-e2e-step-([0-9]+\.[0-9]+)")


class RequestRecorder(Reporter, Listener):
    """Records the run's requests (a watch's Listener); also a Reporter (step windows, for requests from pool
    threads)."""

    def __init__(self, redact: Callable[[str], str], token: str = "", base_url: str = ""):
        self.redact = redact
        self.token = token or ""
        self.base_path = urlsplit(base_url).path.rstrip("/") if base_url else ""
        self.exchanges: list[Exchange] = []
        self.listeners: list[Callable[[Exchange], None]] = []  # called as each request ends (--log-requests)
        self.t0 = time.time()
        self.t0_mono = time.monotonic()
        self._lock = threading.Lock()
        self.recording = True
        self._phase: int | None = None
        self._running: dict[str, tuple[int | None, float]] = {}  # step id -> (phase, monotonic start)
        self.windows: dict[str, tuple[int, float, float]] = {}  # step id -> (phase, start, end) monotonic

    # -- redaction ---------------------------------------------------------------------------------
    def _headers(self, headers) -> list[tuple[str, str]]:
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

    def _owner(self, mono: float) -> tuple[str, int | None]:
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

    def stop(self) -> None:
        """Nothing more is recorded (a call that started before is, as it ends); the exchanges stay."""
        self.recording = False

    # -- listening (wire/watch.py) -------------------------------------------------------------------------------
    def sent(self, call) -> None:
        if not self.recording:
            return
        request = call.request
        step, phase = self._owner(call.mono)
        exchange = Exchange(
            call.kind,
            call.method,
            self._url(call.url),
            call.wall,
            0.0,
            request_headers=self._headers(request.headers),
            step=step,
            phase=phase,
            operation=call.operation,
            mono=call.mono,
        )
        if call.kind == "api":
            exchange.had_token = self._had_token(request.headers)
        body = as_text(getattr(request, "body", None))
        exchange.request_body = capped(body, self.redact) if body else ""
        call.notes[id(self)] = exchange

    def answered(self, call, answer) -> None:
        exchange = call.notes.pop(id(self), None)
        if exchange is None:
            return
        exchange.seconds = time.monotonic() - call.mono
        try:
            if call.kind == "s3":
                self._s3_answer(exchange, answer)
            else:
                self._api_answer(exchange, answer, call.stream)
        except Exception:
            pass
        self._add(exchange)

    def failed(self, call, error: BaseException) -> None:
        exchange = call.notes.pop(id(self), None)
        if exchange is None:
            return
        exchange.seconds = time.monotonic() - call.mono
        exchange.error = self.redact(f"{type(error).__name__}: {error}")[:500]
        self._add(exchange)

    def _api_answer(self, exchange: Exchange, response, streamed: bool) -> None:
        exchange.status = int(response.status_code)
        exchange.response_headers = self._headers(response.headers)
        content = getattr(response, "_content", False)  # read by the adapter unless the client streams
        if isinstance(content, bytes):
            exchange.response_body = capped(content.decode(response.encoding or "utf-8", errors="replace"), self.redact)
        elif streamed:
            self._tee(response, exchange)

    def _s3_answer(self, exchange: Exchange, response_dict) -> None:
        if response_dict:
            exchange.status = int(response_dict.get("status_code") or 0)
            exchange.response_headers = self._headers(response_dict.get("headers"))
            body = as_text(response_dict.get("body"))
            exchange.response_body = capped(body, self.redact) if body is not None else None

    def _tee(self, response, exchange: Exchange) -> None:
        """A streamed answer (the raw probes read at most 64 KiB of it): its body is kept as the client reads
        it, redacted chunk by chunk, up to the cap. The urllib3 response's `stream` is wrapped on that one
        response object only."""
        raw = getattr(response, "raw", None)
        original = getattr(raw, "stream", None)
        if original is None:
            return
        encoding = response.encoding or "utf-8"
        seen = bytearray()

        def stream(*args, **kwargs):
            for chunk in original(*args, **kwargs):
                if len(seen) <= BODY_LIMIT + 1024:
                    seen.extend(chunk)
                    exchange.response_body = capped(bytes(seen).decode(encoding, errors="replace"), self.redact)
                yield chunk

        try:
            if raw is not None:  # it is: it had a stream
                raw.stream = stream
        except Exception:
            pass

    # -- reading ---------------------------------------------------------------------------------------
    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return sorted(self.exchanges, key=lambda e: e.mono)

    def for_step(self, step_id: str) -> list[Exchange]:
        return [e for e in self.snapshot() if e.step == step_id]


__all__ = ["BODY_LIMIT", "Exchange", "RequestRecorder"]
