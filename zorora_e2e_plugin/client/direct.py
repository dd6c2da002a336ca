"""The direct adapter: the requests Zorora's commands send, with `requests`, when Zorora is not installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..config.settings import Settings

if TYPE_CHECKING:
    import requests
from .errors import CONNECT, NOT_JSON, NOT_OBJECT, TIMEOUT, TRANSPORT, EndsWithTheRun, OnaError, transport_kind
from .raw_http import api_headers


class DirectClient(EndsWithTheRun):
    """Sends the requests Zorora's commands send, with the same headers and error mapping; during a run, reads
    are retried as wire/retries.py says (the run's adapter, wire/watch.py; Zorora's client retries only 5xx,
    immediately, and the run turns that off)."""

    kind = "direct"

    def __init__(self, settings: Settings, session: requests.Session | None = None):
        import requests

        self.settings = settings
        self.base_url = settings.base_url.rstrip("/") + "/"
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json", "User-Agent": "zorora-e2e"})

    def _headers(self) -> dict[str, str]:
        return api_headers(self.settings, with_token=not self.settings.use_iam)

    def request(
        self, method: str, path: str, params: dict[str, str] | None = None, json_data: dict[str, Any] | None = None
    ) -> dict:
        """One request; a GET's connection errors, 502/503/504 and 429 are retried by the run's adapter on the
        session (wire/retries.py), a POST is sent once."""
        import requests

        url = urljoin(self.base_url, path.lstrip("/"))
        self.refuse_after_the_run()
        try:
            response = self.session.request(
                method, url, params=params, json=json_data, headers=self._headers(), timeout=self.settings.timeout
            )
        except requests.exceptions.ConnectTimeout:  # nothing accepted the connection: not a slow answer
            raise OnaError(
                f"Connection error: no TCP connection within {self.settings.timeout:g}s", 0, kind=CONNECT
            ) from None
        except requests.exceptions.Timeout:
            raise OnaError(f"Request timeout after {self.settings.timeout:g}s", 0, kind=TIMEOUT) from None
        except requests.exceptions.ConnectionError as exc:
            raise OnaError(f"Connection error: {exc}", 0, kind=transport_kind(exc) or CONNECT) from None
        except requests.exceptions.RequestException as exc:  # a broken body, too many redirects, ...
            raise OnaError(f"{type(exc).__name__}: {exc}", 0, kind=TRANSPORT) from None
        status, text = response.status_code, response.text
        if 200 <= status < 300:
            try:
                data = response.json()
            except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser allows
                raise OnaError(
                    f"the API answered 2xx with a body that is not JSON ({exc}); body: {text!r}",
                    status,
                    text,
                    kind=NOT_JSON,
                ) from None
            if not isinstance(data, dict):  # exactly what the Zorora adapter accepts: one JSON object
                raise OnaError(
                    f"the API answered JSON that is not an object ({type(data).__name__}): {text!r}",
                    None,
                    text,
                    kind=NOT_OBJECT,
                )
            return data
        label = {401: "Unauthorized", 404: "Not found"}.get(status, "Server error" if status >= 500 else "Client error")
        raise OnaError(f"{label}: {text}", status, text, headers=dict(response.headers))

    def list_challengers(self, customer_id: str) -> dict:
        return self.request("GET", "/challengers", params={"customer_id": customer_id})

    def show_metrics(self, model_id: str) -> dict:
        try:
            return self.request("GET", f"/metrics/{model_id}")
        except OnaError as exc:
            if exc.status == 404:
                raise OnaError(f"Model {model_id} not found ({exc.message})", 404, exc.body, kind=exc.kind) from None
            raise

    def diff(self, challenger_id: str, production_id: str) -> dict:
        return self.request("GET", "/diff", params={"challenger_id": challenger_id, "production_id": production_id})

    def audit_log(self, customer_id: str) -> dict:
        return self.request("GET", "/audit-log", params={"customer_id": customer_id})

    def promote(self, customer_id: str, model_id: str, reason: str) -> dict:
        if len(reason) < 10:
            raise OnaError("Reason must be at least 10 characters")
        challengers = self.list_challengers(customer_id).get("challengers", [])
        if not any(c.get("model_id") == model_id for c in challengers):
            raise OnaError(f"Challenger {model_id} not found")
        diff = self.diff(model_id, f"{customer_id}/production/latest")
        if diff.get("verdict") != "eligible":
            raise OnaError(f"Challenger is not eligible for promotion. Verdict: {diff.get('verdict')}")
        result = self.request(
            "POST",
            "/promote",
            json_data={
                "customer_id": customer_id,
                "model_id": model_id,
                "reason": reason,
                "force": False,
                "actor": self.settings.actor,
            },
        )
        return {"diff": diff, "result": result}

    def rollback(self, customer_id: str, reason: str) -> dict:
        if len(reason) < 10:
            raise OnaError("Reason must be at least 10 characters")
        return self.request(
            "POST", "/rollback", json_data={"customer_id": customer_id, "reason": reason, "actor": self.settings.actor}
        )
