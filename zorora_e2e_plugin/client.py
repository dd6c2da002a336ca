"""The six ONA operations as one small interface, with two adapters.

`ZororaClient` goes through Zorora's own command classes and `ZororaHTTPClient`
(what the REPL user runs); `DirectClient` sends the same requests with
`requests` when Zorora is not installed. `RawHttp` is for the checks the plan
makes below the command layer (preflight, server-side validation, auth).
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, List, Optional
from urllib.parse import urljoin

from .settings import Settings


class OnaError(Exception):
    """An ONA operation failed. `status` is the HTTP status when one is known (0: no answer)."""

    def __init__(self, message: str, status: Optional[int] = None, body: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class Cancelled(OnaError):
    """Zorora returned "... cancelled by user" instead of calling the API."""


def extract_json_blocks(text: str) -> List[Any]:
    """Every top-level JSON object in `text`, in order (Zorora's promote answer holds two)."""
    decoder = json.JSONDecoder()
    blocks, index = [], 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return blocks
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        blocks.append(value)
        index = end


_env_lock = threading.RLock()
_scopes = 0  # runs inside run_scope() in this process
_saved_env: Dict[str, Optional[str]] = {}


@contextmanager
def run_scope(settings: Settings, client=None):
    """The process-wide state a run needs, set ONCE around the whole run and restored in every case:

    - ZORORA_AUTO_CONFIRM=true (Zorora's promote/rollback ask for confirmation without a UI),
    - ZORORA_ACTOR = the run's test actor (Zorora's client sends it as X-Actor on every request),
    - no client retries (`max_retries = 0` on Zorora's client): a promote or rollback is sent at most once
      per step, so none can be re-sent after the cleanup. The REPL's client gets its setting back.

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
    http_client = getattr(client, "http_client", None)
    saved_retries = getattr(http_client, "max_retries", None)
    if saved_retries is not None:
        http_client.max_retries = 0
    try:
        yield
    finally:
        if saved_retries is not None:
            http_client.max_retries = saved_retries
        with _env_lock:
            _scopes -= 1
            if _scopes == 0:
                for name, value in _saved_env.items():
                    if value is None:
                        os.environ.pop(name, None)
                    elif os.environ.get(name) != value:
                        os.environ[name] = value
                _saved_env.clear()


def zorora_available() -> bool:
    try:
        import zorora.commands.ona_platform  # noqa: F401
        import zorora.http_client  # noqa: F401
    except Exception:
        return False
    return True


class ZororaClient:
    """Runs each operation through `zorora.commands.ona_platform`, exactly as the REPL would."""

    kind = "zorora"

    def __init__(self, http_client, actor: str):
        from zorora.commands import ona_platform as ona

        self.http_client = http_client
        self.actor = actor
        self.context = {"actor": actor, "environment": "e2e-validation",
                        "request_id": f"zorora-e2e-{os.getpid()}"}
        self._list = ona.ListChallengersCommand(http_client)
        self._metrics = ona.ShowMetricsCommand(http_client)
        self._diff = ona.DiffModelsCommand(http_client)
        self._promote = ona.PromoteModelCommand(http_client, ui=None)
        self._rollback = ona.RollbackModelCommand(http_client, ui=None)
        self._audit = ona.AuditLogCommand(http_client)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ZororaClient":
        from zorora.http_client import ZororaHTTPClient

        http = ZororaHTTPClient(base_url=settings.base_url, auth_token=settings.token,
                                use_iam=settings.use_iam, timeout=settings.timeout, max_retries=3)
        return cls(http, settings.actor)

    closed = False  # set when the run is over: a step the deadline abandoned sends nothing more

    def _run(self, command, args: List[str]) -> str:
        if self.closed:
            raise OnaError("not sent: the run is over (its cleanup has started)", 0)
        try:
            return command.execute(args, dict(self.context))  # run_scope: X-Actor = the test actor
        except Exception as exc:  # CommandError, HTTPError, JSON decode errors, ...
            raise _as_ona_error(exc) from None

    @staticmethod
    def _json(text: str) -> Dict:
        """A read-only command's answer is the API's JSON, pretty-printed: exactly one JSON object, as the
        direct client requires. Never dig an object out of an array or out of surrounding text."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            raise OnaError(f"the command's answer is not one JSON object: {text!r}") from None
        if not isinstance(value, dict):
            raise OnaError(f"the API answered JSON that is not an object ({type(value).__name__}): {text!r}")
        return value

    @staticmethod
    def _last_block(text: str) -> Dict:
        """promote/rollback answer text with embedded JSON blocks ("✓ Rollback successful:\n{...}")."""
        blocks = extract_json_blocks(text)
        if not blocks:
            raise OnaError(f"the command's answer holds no JSON: {text!r}")
        return blocks[-1]

    def list_challengers(self, customer_id: str) -> Dict:
        return self._json(self._run(self._list, [customer_id]))

    def show_metrics(self, model_id: str) -> Dict:
        return self._json(self._run(self._metrics, [model_id]))

    def diff(self, challenger_id: str, production_id: str) -> Dict:
        return self._json(self._run(self._diff, [challenger_id, production_id]))

    def audit_log(self, customer_id: str) -> Dict:
        return self._json(self._run(self._audit, [customer_id]))

    def promote(self, customer_id: str, model_id: str, reason: str) -> Dict:
        """Returns {"diff": <comparison>, "result": <promote answer>}."""
        text = self._run(self._promote, [customer_id, model_id, reason])  # run_scope: auto-confirm, no retry
        if "cancelled" in text.lower() and "{" not in text:
            raise Cancelled(f"Zorora answered {text!r}: PromoteModelCommand asked for confirmation "
                            "and ZORORA_AUTO_CONFIRM was not 'true' when it checked")
        blocks = extract_json_blocks(text)
        if len(blocks) < 2:
            raise OnaError(f"expected a comparison and a promotion result in the answer, got: {text!r}")
        return {"diff": blocks[0], "result": blocks[-1]}

    def rollback(self, customer_id: str, reason: str) -> Dict:
        text = self._run(self._rollback, [customer_id, reason])
        if "cancelled" in text.lower() and "{" not in text:
            raise Cancelled(f"Zorora answered {text!r}: RollbackModelCommand asked for confirmation "
                            "and ZORORA_AUTO_CONFIRM was not 'true' when it checked")
        return self._last_block(text)


def _as_ona_error(exc: Exception) -> OnaError:
    """Zorora wraps HTTPError in CommandError; the status survives on the exception chain."""
    status, body = None, ""
    seen = exc
    while seen is not None:
        code = getattr(seen, "status_code", None)
        if isinstance(code, int):
            status, body = code, str(getattr(seen, "message", "") or "")
            break
        seen = seen.__context__
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, ValueError) and status is None:  # a 2xx whose body is not JSON
        message = f"the API answered 2xx with a body that is not JSON ({type(exc).__name__}: {exc})"
    return OnaError(str(message), status, body)


class DirectClient:
    """Sends the requests Zorora's commands send, with the same headers, retries and error mapping."""

    kind = "direct"

    def __init__(self, settings: Settings, session=None):
        import requests

        self.settings = settings
        self.base_url = settings.base_url.rstrip("/") + "/"
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json", "User-Agent": "zorora-e2e"})
        self.max_retries = 3  # GETs only: a promote or rollback is sent at most once
        self.closed = False  # set when the run is over: a step the deadline abandoned sends nothing more

    def _headers(self) -> Dict[str, str]:
        headers = {"X-Actor": self.settings.actor}  # the test actor, as in the body (Zorora's: via ZORORA_ACTOR)
        if self.settings.token and not self.settings.use_iam:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        return headers

    def request(self, method: str, path: str, params=None, json_data=None) -> Dict:
        import requests

        url = urljoin(self.base_url, path.lstrip("/"))
        retries = self.max_retries if method == "GET" else 0
        for attempt in range(retries + 1):
            if self.closed:
                raise OnaError("not sent: the run is over (its cleanup has started)", 0)
            last = attempt == retries
            try:
                response = self.session.request(method, url, params=params, json=json_data,
                                                headers=self._headers(), timeout=self.settings.timeout)
            except requests.exceptions.Timeout:
                if last:
                    raise OnaError(f"Request timeout after {self.settings.timeout:g}s", 0) from None
                continue
            except requests.exceptions.ConnectionError as exc:
                if last:
                    raise OnaError(f"Connection error: {exc}", 0) from None
                continue
            except requests.exceptions.RequestException as exc:  # a broken body, too many redirects, ...
                raise OnaError(f"{type(exc).__name__}: {exc}", 0) from None
            status, text = response.status_code, response.text
            if 200 <= status < 300:
                try:
                    data = response.json()
                except ValueError as exc:
                    raise OnaError("the API answered 2xx with a body that is not JSON "
                                   f"({exc}); body: {text!r}", status, text) from None
                if not isinstance(data, dict):  # exactly what the Zorora adapter accepts: one JSON object
                    raise OnaError(f"the API answered JSON that is not an object ({type(data).__name__}): "
                                   f"{text!r}", None, text)
                return data
            if status >= 500 and not last:
                continue
            label = {401: "Unauthorized", 404: "Not found"}.get(
                status, "Server error" if status >= 500 else "Client error")
            raise OnaError(f"{label}: {text}", status, text)
        raise AssertionError("unreachable")

    def list_challengers(self, customer_id: str) -> Dict:
        return self.request("GET", "/challengers", params={"customer_id": customer_id})

    def show_metrics(self, model_id: str) -> Dict:
        try:
            return self.request("GET", f"/metrics/{model_id}")
        except OnaError as exc:
            if exc.status == 404:
                raise OnaError(f"Model {model_id} not found ({exc.message})", 404, exc.body) from None
            raise

    def diff(self, challenger_id: str, production_id: str) -> Dict:
        return self.request("GET", "/diff", params={"challenger_id": challenger_id,
                                                    "production_id": production_id})

    def audit_log(self, customer_id: str) -> Dict:
        return self.request("GET", "/audit-log", params={"customer_id": customer_id})

    def promote(self, customer_id: str, model_id: str, reason: str) -> Dict:
        if len(reason) < 10:
            raise OnaError("Reason must be at least 10 characters")
        challengers = self.list_challengers(customer_id).get("challengers", [])
        if not any(c.get("model_id") == model_id for c in challengers):
            raise OnaError(f"Challenger {model_id} not found")
        diff = self.diff(model_id, f"{customer_id}/production/latest")
        if diff.get("verdict") != "eligible":
            raise OnaError(f"Challenger is not eligible for promotion. Verdict: {diff.get('verdict')}")
        result = self.request("POST", "/promote", json_data={
            "customer_id": customer_id, "model_id": model_id, "reason": reason,
            "force": False, "actor": self.settings.actor})
        return {"diff": diff, "result": result}

    def rollback(self, customer_id: str, reason: str) -> Dict:
        if len(reason) < 10:
            raise OnaError("Reason must be at least 10 characters")
        return self.request("POST", "/rollback", json_data={
            "customer_id": customer_id, "reason": reason, "actor": self.settings.actor})


class RawResponse:
    def __init__(self, status: int, text: str, elapsed: float, location: str = ""):
        self.status = status
        self.text = text
        self.elapsed = elapsed
        self.location = location  # absolute URL a 3xx pointed to ("" otherwise)

    @property
    def redirected(self) -> bool:
        return 300 <= self.status < 400

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class RawHttp:
    """One request, no retries, no redirects followed, no error mapping: for checks below the command layer.
    A redirect is an answer to judge, not to follow: requests would drop the token on the way to another host,
    and a 200 from there would pass for "token accepted"."""

    def __init__(self, settings: Settings):
        import requests

        self.closed = False
        self.settings = settings
        self.session = requests.Session()
        self.base_url = settings.base_url.rstrip("/")

    def send(self, method: str, path: str, *, params=None, json_data=None, with_token: bool = True,
             max_body: int = 64 * 1024) -> RawResponse:
        """Raises requests' ConnectionError/Timeout; the body is cut at `max_body` bytes."""
        if self.closed:
            import requests

            raise requests.exceptions.ConnectionError("not sent: the run is over (its cleanup has started)")
        headers = {"X-Actor": self.settings.actor}
        if with_token and self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        started = time.monotonic()
        with self.session.request(method, self.base_url + path, params=params, json=json_data,
                                  headers=headers, timeout=self.settings.timeout, stream=True,
                                  allow_redirects=False) as response:
            body = b""
            for chunk in response.iter_content(16384):
                body += chunk
                if len(body) >= max_body:
                    break
            text = body[:max_body].decode(response.encoding or "utf-8", errors="replace")
            location = ""
            if 300 <= response.status_code < 400 and response.headers.get("Location"):
                location = urljoin(response.url, response.headers["Location"])
            return RawResponse(response.status_code, text, time.monotonic() - started, location)


def make_client(settings: Settings, http_client=None):
    """The Zorora adapter when Zorora is importable (or a client was handed over), else direct HTTP."""
    if http_client is not None:
        return ZororaClient(http_client, settings.actor)
    if settings.client == "direct":
        return DirectClient(settings)
    if settings.client == "zorora" or zorora_available():
        if not zorora_available():
            from .settings import SettingsError
            raise SettingsError("--client zorora: the `zorora` package is not importable; put your Zorora "
                                "checkout on PYTHONPATH (e.g. PYTHONPATH=~/zorora) or use --client direct")
        return ZororaClient.from_settings(settings)
    return DirectClient(settings)
