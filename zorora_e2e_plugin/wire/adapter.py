"""The run's requests adapter: what one `send` of a watched session goes through (watch.py mounts it, and takes it
off again). One `send` is one call, whatever retries it takes inside, and the watch hears of it once.

Inside a call, in this order:
  - the watch hears that it starts (`watch.started`: it tells the run's listeners);
  - a loopback URL goes to no proxy (limits.py's rule): `proxies={}` for it alone. The session keeps trust_env, so
    what else the environment says (REQUESTS_CA_BUNDLE, .netrc) still applies;
  - the read retries and the per-host cap (retries.py has the policy), attempt by attempt; the run's deadline and
    its end (`watch.deadline_at()`, `watch.closed()`) stop retries, and a request that waited for a host's slot
    while the run ended is not sent;
  - the answer cap (limits.read_answer): the body read whole, at most 10 MB, within the read timeout in all, unless
    the caller streams it (the raw probes read at most 64 KiB of it themselves);
  - the watch hears how it ended: `watch.answered(call, response)` or `watch.failed(call, error)`, before the
    response is returned or the error raised.
"""

from __future__ import annotations

import random
import threading
import time
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

from ..config.checks import is_loopback
from ..core.outcomes import RUN_OVER
from .limits import read_answer
from .retries import (
    BACKOFF,
    READ_METHODS,
    RETRIES,
    RETRY_AFTER_CAP,
    RETRY_STATUSES,
    Retry,
    host_slot,
    retry_after_seconds,
    step_log,
)


class RunAdapter(HTTPAdapter):
    """requests' HTTPAdapter with the run's read retries, per-host cap and answer cap, telling `watch` (watch.Watch)
    of each call. `retries`: every retry through this adapter (the history's retries per route)."""

    def __init__(self, watch, **kwargs):
        super().__init__(**kwargs)
        self.watch = watch
        self.base_path = watch.base_path
        self.retries: list[Retry] = []
        self.last = threading.local()  # per thread: the last answer's headers (Zorora's HTTPError has none)
        self._lock = threading.Lock()

    def route(self, method: str, url: str) -> str:
        path = urlsplit(url).path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :]
        return f"{method.upper()} {path or '/'}"

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        call = self.watch.started("api", request, stream=stream)
        if is_loopback(request.url):
            proxies = {}  # HTTP(S)_PROXY cannot reach this machine's loopback; the session's other settings stand
        try:
            response = self._attempts(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )
            answered_at = time.monotonic()
            call.headers_after = answered_at - call.mono
            call.last_attempt_after = answered_at - getattr(self.last, "attempt_mono", call.mono)
            if not stream:
                read_answer(response, timeout)
        except BaseException as error:
            self.watch.failed(call, error)
            raise
        self.watch.answered(call, response)
        return response

    def _attempts(self, request, **kwargs):
        """GET/HEAD: retried as retries.py says; every other method: sent once. The host's slot is held per
        attempt, not while waiting to retry."""
        import requests

        if request.method.upper() not in READ_METHODS:
            with host_slot(request.url):
                self._not_after_the_run()
                self.last.attempt_mono = time.monotonic()
                return self._remember(super().send(request, **kwargs))
        attempt = 1
        while True:
            try:
                with host_slot(request.url):
                    self._not_after_the_run()
                    self.last.attempt_mono = time.monotonic()  # backoff and a wait for the slot are not the answer's
                    response = super().send(request, **kwargs)
            except requests.exceptions.ConnectionError as error:  # neither timeout is retried: a target that
                # accepts no connection (a VPN off, a private API) or hangs would cost --timeout three times
                if isinstance(error, requests.exceptions.ConnectTimeout) or not self._may_retry(attempt, 0.0):
                    if attempt > 1:
                        self._record(
                            Retry(self.route(request.method, request.url), attempt, "connection error", final=True)
                        )
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
                        self._record(
                            Retry(
                                self.route(request.method, request.url),
                                attempt,
                                f"HTTP {response.status_code}",
                                final=True,
                            )
                        )
                    return response
                reason = f"HTTP {response.status_code}"
                response.close()
            self._record(Retry(self.route(request.method, request.url), attempt, reason, wait))
            time.sleep(wait)
            attempt += 1

    def _not_after_the_run(self) -> None:
        """A request that waited for a slot while the run ended is not sent (its cleanup has started)."""
        if self.watch.closed():
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
        if attempt > RETRIES or self.watch.closed():
            return False
        deadline = self.watch.deadline_at()
        return deadline is None or time.monotonic() + wait < deadline

    def _record(self, retry: Retry) -> None:
        with self._lock:
            self.retries.append(retry)
        log = step_log()
        if log is not None:
            log.append(retry)

    def last_headers(self) -> dict[str, str]:
        return dict(getattr(self.last, "headers", None) or {})


__all__ = ["RunAdapter"]
