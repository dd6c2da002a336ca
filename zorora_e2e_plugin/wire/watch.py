"""One way to watch the HTTP a run sends, attached and detached in one place.

A run makes one Watch (run/execution.py), attaches the requests sessions its API requests go through (the direct
client's or Zorora's ZororaHTTPClient.session, and the raw probes') and its S3 client, and lets its listeners
listen: the request recorder, the history's timer, the mutation ledger. However the run ends, one `detach` gives
every session and client back as it was (a REPL's Zorora client and the process's S3 client outlive the run).

  - a requests session: the run's adapter (adapter.py: retries, the per-host cap, the answer cap, no proxy for a
    loopback URL) mounted for http:// and https://, its adapters dict put back as it was (the same objects, in the
    same order). Its `send`, hooks, headers and trust_env stay as they are: the environment's REQUESTS_CA_BUNDLE
    (and .netrc) still apply, for loopback too.
  - a botocore client: a `before-send` and a `response-received` handler on its event system, with this watch's
    unique id, for the run (botocore fires both in the sending thread, one attempt at a time); the `before-send`
    one first, ahead of S3's answer cap (`cap_s3_answers`, registered for the client's life when it is built:
    s3/store.py), which sends the request itself.

Each listener (a `Listener`) hears of a call when it starts, then of its answer or its error, once per `send` of
a session (however many retries inside) and once per attempt of an S3 request. Nothing else in the package
touches a session's `send`, hooks or adapters, or botocore's event hooks: only this module and adapter.py.

Importing this module is cheap: requests is imported only when a session is attached.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

CAPPED_S3_ANSWERS = "zorora-e2e-capped-answers"


class Call:
    """One request as the listeners hear of it: `kind` "api" (a watched session's `send`) or "s3" (one attempt of
    a botocore request, `operation` its name), the prepared `request` (method, url, headers, body), whether the
    caller streams its answer, when it started (`mono`: time.monotonic(), `wall`: time.time()) and, once answered,
    `headers_after`: the seconds until its answer's headers came, over all its attempts (`last_attempt_after`: of
    the attempt that answered, without the retries and backoff before it). `notes`: what a listener keeps about it
    meanwhile (by id(listener))."""

    def __init__(self, kind: str, request, stream: bool = False, operation: str = ""):
        self.kind, self.request, self.stream, self.operation = kind, request, bool(stream), operation
        self.method = str(getattr(request, "method", "") or "?").upper()
        self.url = str(getattr(request, "url", "") or "")
        self.mono, self.wall = time.monotonic(), time.time()
        self.headers_after: float | None = None
        self.last_attempt_after: float | None = None
        self.notes: dict[int, Any] = {}
        self.hearing: tuple = ()  # the listeners when it started: they hear how it ends


class Listener:
    """What a watch tells of each call; a listener overrides what it needs. Nothing a listener raises (an
    Exception) reaches the request."""

    def sent(self, call: Call) -> None:
        """Before the request goes."""

    def answered(self, call: Call, answer) -> None:
        """`answer`: a requests Response (kind "api": its body read, unless streamed) or botocore's response dict
        ("s3")."""

    def failed(self, call: Call, error: BaseException) -> None:
        """No answer, or none that could be read (KeyboardInterrupt too). An "api" error is raised on after."""


def _tell(listeners, event: str, *args) -> None:
    for listener in listeners:
        try:
            getattr(listener, event)(*args)
        except Exception:  # a listener must never break a request
            pass


class Watch:
    """A run's watch over its sessions and S3 clients. `closed()`: the run is over (no request sent, no retry);
    `deadline`: the run's deadline (time.monotonic(), or a callable giving it: a walkthrough's pauses move it), no
    read retried past it."""

    def __init__(self, base_url: str = "", closed=lambda: False):
        self.base_path = urlsplit(base_url).path.rstrip("/") if base_url else ""
        self.closed = closed
        self.deadline: Any = None
        self.listeners: list[Listener] = []
        self._retries: list[list] = []  # each adapter's retries, kept after detach (the adapters are not: no cycle)
        self._sessions: list[tuple[Any, dict]] = []  # (session, its adapters as they were)
        self._s3_clients: list = []
        self._pending = threading.local()  # S3: the attempt this thread is sending
        self._uid = f"zorora-e2e-watch-{id(self)}"

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc) -> None:
        self.detach()

    def listen(self, *listeners: Listener) -> Watch:
        self.listeners.extend(listener for listener in listeners if listener is not None)
        return self

    def deadline_at(self) -> float | None:
        return self.deadline() if callable(self.deadline) else self.deadline

    # -- what the adapter (and the S3 handlers) tell -----------------------------------------------------------------
    def started(self, kind: str, request, *, stream: bool = False, operation: str = "") -> Call:
        call = Call(kind, request, stream=stream, operation=operation)
        call.hearing = tuple(self.listeners)
        _tell(call.hearing, "sent", call)
        return call

    def answered(self, call: Call, answer) -> None:
        _tell(call.hearing, "answered", call, answer)

    def failed(self, call: Call, error: BaseException) -> None:
        _tell(call.hearing, "failed", call, error)

    # -- requests sessions -------------------------------------------------------------------------------------------
    def attach(self, *sessions) -> Watch:
        from .adapter import RunAdapter

        for session in sessions:
            if session is None or any(held is session for held, _a in self._sessions):
                continue
            adapters = getattr(session, "adapters", None)
            if not isinstance(adapters, dict) or not hasattr(session, "mount"):
                continue
            self._sessions.append((session, dict(adapters)))
            adapter = RunAdapter(self)
            self._retries.append(adapter.retries)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        return self

    # -- botocore clients --------------------------------------------------------------------------------------------
    def attach_s3(self, client) -> None:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None or any(c is client for c in self._s3_clients):
            return
        # first: S3's answer cap (registered at the client's build) sends the request in its own before-send
        events.register_first("before-send.s3", self._s3_sent, unique_id=self._uid + "-sent")
        events.register("response-received.s3", self._s3_ended, unique_id=self._uid + "-ended")
        self._s3_clients.append(client)

    def _s3_sent(self, request=None, event_name: str = "", **_kwargs):
        try:
            self._pending.call = self.started("s3", request, operation=event_name.rsplit(".", 1)[-1])
        except Exception:
            self._pending.call = None
        return None  # anything else would be taken as the answer

    def _s3_ended(self, response_dict=None, exception=None, **_kwargs):
        call = getattr(self._pending, "call", None)
        self._pending.call = None
        if call is None:
            return
        if exception is not None:
            self.failed(call, exception)
        else:
            self.answered(call, response_dict)

    # -- the end -----------------------------------------------------------------------------------------------------
    def detach(self) -> None:
        """Every session and S3 client as it was (the listeners' records and the adapters' retries stay)."""
        for session, adapters in reversed(self._sessions):
            session.adapters.clear()
            session.adapters.update(adapters)
        self._sessions = []
        for client in self._s3_clients:
            events = client.meta.events
            events.unregister("before-send.s3", self._s3_sent, unique_id=self._uid + "-sent")
            events.unregister("response-received.s3", self._s3_ended, unique_id=self._uid + "-ended")
        self._s3_clients = []

    def retries_by_route(self) -> dict[str, int]:
        """'GET /diff' -> retries, over the run's adapters (the last failed attempt of a read is not a retry)."""
        counts: dict[str, int] = {}
        for retries in self._retries:
            for retry in list(retries):
                if retry.final:
                    continue
                route = "/" + retry.route.split(" ", 1)[-1].lstrip("/").split("/", 1)[0]
                key = f"{retry.route.split(' ', 1)[0]} {route}"
                counts[key] = counts.get(key, 0) + 1
        return counts


def adapter_of(session):
    """The run's adapter on `session` while a watch holds it, else None."""
    from .adapter import RunAdapter

    adapters = getattr(session, "adapters", None) or {}
    return next((a for a in adapters.values() if isinstance(a, RunAdapter)), None)


def cap_s3_answers(client) -> None:
    """For the life of an S3 client (s3/store.py, when it builds one): every answer it reads whole is capped
    (limits.s3_capped_sender)."""
    from .limits import s3_capped_sender

    client.meta.events.register("before-send.s3", s3_capped_sender(client), unique_id=CAPPED_S3_ANSWERS)


__all__ = ["Call", "Listener", "Watch", "adapter_of", "cap_s3_answers"]
