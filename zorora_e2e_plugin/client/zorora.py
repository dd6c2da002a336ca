"""The Zorora adapter: each operation through Zorora's own command classes and `ZororaHTTPClient`, exactly as
the REPL user runs it, and the process-wide scope (environment, retries) a run needs around it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from ..config.settings import Settings
from ..core.answers import zorora_body
from ..wire.watch import adapter_of
from .errors import CONNECT, HTTP, NOT_JSON, NOT_OBJECT, Cancelled, EndsWithTheRun, OnaError, transport_kind
from .interface import OnaClient, ZororaHTTP


def extract_json_blocks(text: str) -> list[Any]:
    """Every top-level JSON object in `text`, in order (Zorora's promote answer holds two)."""
    decoder = json.JSONDecoder()
    blocks: list[Any] = []
    index = 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return blocks
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        except RecursionError:  # nested deeper than the parser allows: no block from here on
            return blocks
        blocks.append(value)
        index = end


_env_lock = threading.RLock()
_scopes = 0  # runs inside run_scope() in this process
_saved_env: dict[str, str | None] = {}


@contextmanager
def run_scope(settings: Settings, client: OnaClient | None = None) -> Iterator[None]:
    """The process-wide state a run needs, set ONCE around the whole run and restored in every case:

    - ZORORA_AUTO_CONFIRM=true (Zorora's promote/rollback ask for confirmation without a UI),
    - ZORORA_ACTOR = the run's test actor (Zorora's client sends it as X-Actor on every request),
    - no client retries (`max_retries = 0` on Zorora's client): a promote or rollback is sent at most once
      per step, so none can be re-sent after the cleanup. Reads are retried instead by the run's adapter
      (wire/retries.py: connection errors, 502/503/504, 429, with backoff and Retry-After), which the run's
      watch mounts on the client's session (wire/watch.py). The REPL's client gets its setting back.

    Never per concurrent call: steps of one wave run in threads, and one of them restoring the environment
    while another reads it (requests iterates os.environ for proxies) raised KeyError. Concurrent runs in one
    process share the scope: the first in sets it, the last out restores it (the first run's actor wins)."""
    global _scopes
    with _env_lock:
        if _scopes == 0:
            _saved_env.clear()
            for name, value in (("ZORORA_AUTO_CONFIRM", "true"), ("ZORORA_ACTOR", settings.actor)):
                _saved_env[name] = os.environ.get(name)
                if os.environ.get(name) != value:
                    os.environ[name] = value
        _scopes += 1
    http_client: ZororaHTTP | None = getattr(client, "http_client", None)
    saved_retries = getattr(http_client, "max_retries", None)
    if http_client is not None and saved_retries is not None:
        http_client.max_retries = 0
    try:
        yield
    finally:
        if http_client is not None and saved_retries is not None:
            http_client.max_retries = saved_retries
        with _env_lock:
            _scopes -= 1
            if _scopes == 0:
                for name, saved in _saved_env.items():
                    if saved is None:
                        os.environ.pop(name, None)
                    elif os.environ.get(name) != saved:
                        os.environ[name] = saved
                _saved_env.clear()


def zorora_available() -> bool:
    try:
        import zorora.commands.ona_platform
        import zorora.http_client  # noqa: F401 - imported only to learn whether Zorora loads
    except Exception:
        return False
    return True


class _Command(Protocol):
    """One of Zorora's ml-* command classes (zorora/commands/ona_platform.py), as this adapter calls it."""

    def execute(self, args: list[str], context: dict[str, str]) -> str: ...


class ZororaClient(EndsWithTheRun):
    """Runs each operation through `zorora.commands.ona_platform`, exactly as the REPL would."""

    kind = "zorora"

    def __init__(self, http_client: ZororaHTTP, actor: str):
        from zorora.commands import ona_platform as ona

        self.http_client = http_client
        self.actor = actor
        self.context = {"actor": actor, "environment": "e2e-validation", "request_id": f"zorora-e2e-{os.getpid()}"}
        self._list = ona.ListChallengersCommand(http_client)
        self._metrics = ona.ShowMetricsCommand(http_client)
        self._diff = ona.DiffModelsCommand(http_client)
        self._promote = ona.PromoteModelCommand(http_client, ui=None)
        self._rollback = ona.RollbackModelCommand(http_client, ui=None)
        self._audit = ona.AuditLogCommand(http_client)

    @classmethod
    def from_settings(cls, settings: Settings) -> ZororaClient:
        from zorora.http_client import ZororaHTTPClient

        http = ZororaHTTPClient(
            base_url=settings.base_url,
            auth_token=settings.token,
            use_iam=settings.use_iam,
            timeout=settings.timeout,
            max_retries=3,
        )
        return cls(http, settings.actor)

    def _run(self, command: _Command, args: list[str]) -> str:
        self.refuse_after_the_run()
        try:
            return command.execute(args, dict(self.context))  # run_scope: X-Actor = the test actor
        except Exception as exc:  # CommandError, HTTPError, JSON decode errors, ...
            error = _as_ona_error(exc)
            adapter = adapter_of(getattr(self.http_client, "session", None))  # the run's, while it runs
            if (error.status or error.kind == NOT_JSON) and adapter is not None:  # the answer's headers
                # (x-amzn-ErrorType, a page's Content-Type ...)
                error.headers = adapter.last_headers()
            raise error from None

    @staticmethod
    def _json(text: str) -> dict:
        """A read-only command's answer is the API's JSON, pretty-printed: exactly one JSON object, as the
        direct client requires. Never dig an object out of an array or out of surrounding text."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise OnaError(f"the command's answer is not one JSON object: {text!r}", kind=NOT_JSON) from None
        if not isinstance(value, dict):
            raise OnaError(
                f"the API answered JSON that is not an object ({type(value).__name__}): {text!r}", kind=NOT_OBJECT
            )
        return value

    @staticmethod
    def _last_block(text: str) -> dict:
        """promote/rollback answer text with embedded JSON blocks ("✓ Rollback successful:\n{...}")."""
        blocks = extract_json_blocks(text)
        if not blocks:
            raise OnaError(f"the command's answer holds no JSON: {text!r}")
        return blocks[-1]

    def list_challengers(self, customer_id: str) -> dict:
        return self._json(self._run(self._list, [customer_id]))

    def show_metrics(self, model_id: str) -> dict:
        return self._json(self._run(self._metrics, [model_id]))

    def diff(self, challenger_id: str, production_id: str) -> dict:
        return self._json(self._run(self._diff, [challenger_id, production_id]))

    def audit_log(self, customer_id: str) -> dict:
        return self._json(self._run(self._audit, [customer_id]))

    def promote(self, customer_id: str, model_id: str, reason: str) -> dict:
        """Returns {"diff": <comparison>, "result": <promote answer>}."""
        text = self._run(self._promote, [customer_id, model_id, reason])  # run_scope: auto-confirm, no retry
        if "cancelled" in text.lower() and "{" not in text:
            raise Cancelled(
                f"Zorora answered {text!r}: PromoteModelCommand asked for confirmation "
                "and ZORORA_AUTO_CONFIRM was not 'true' when it checked"
            )
        blocks = extract_json_blocks(text)
        if len(blocks) < 2:
            raise OnaError(f"expected a comparison and a promotion result in the answer, got: {text!r}")
        return {"diff": blocks[0], "result": blocks[-1]}

    def rollback(self, customer_id: str, reason: str) -> dict:
        text = self._run(self._rollback, [customer_id, reason])
        if "cancelled" in text.lower() and "{" not in text:
            raise Cancelled(
                f"Zorora answered {text!r}: RollbackModelCommand asked for confirmation "
                "and ZORORA_AUTO_CONFIRM was not 'true' when it checked"
            )
        return self._last_block(text)


def _as_ona_error(exc: Exception) -> OnaError:
    """Zorora wraps HTTPError in CommandError; the status survives on the exception chain."""
    status, body = None, ""
    seen: BaseException | None = exc
    while seen is not None:
        code = getattr(seen, "status_code", None)
        if isinstance(code, int):  # ZororaHTTPClient's HTTPError("Not found: <body>", 404): keep the body
            status, body = code, zorora_body(str(getattr(seen, "message", "") or ""))
            break
        seen = seen.__context__
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    kind = transport_kind(exc) or {None: "", 0: CONNECT}.get(status, HTTP)  # HTTPError(status 0) wraps the
    # transport error that made it (its kind); status 0 without one is still no answer
    if isinstance(exc, (ValueError, RecursionError)) and status is None:  # a 2xx whose body is not JSON (or
        # JSON nested deeper than the parser allows)
        message = f"the API answered 2xx with a body that is not JSON ({type(exc).__name__}: {exc})"
        kind = NOT_JSON
    return OnaError(str(message), status, body, kind=kind)
