"""One request below the command layer, for the plan's own checks (preflight, server-side validation, auth):
no redirects followed, no error mapping beyond classifying a transport failure by type; a GET is retried as
every read of a run is (wire/retries.py: the run's adapter on `session`), a POST is sent once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from ..config.settings import Settings
from .errors import TRANSPORT, EndsWithTheRun, OnaError, reason, transport_kind


def api_headers(settings: Settings, with_token: bool = True) -> dict[str, str]:
    """The headers of every request the run sends itself: the test actor as X-Actor (as in the body; Zorora's
    client sends it from ZORORA_ACTOR) and, when asked and set, the bearer token."""
    headers = {"X-Actor": settings.actor}
    if with_token and settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    return headers


class RawResponse:
    def __init__(
        self, status: int, text: str, elapsed: float, location: str = "", headers: Mapping[str, str] | None = None
    ):
        self.status = status
        self.headers = dict(headers or {})
        self.text = text
        self.elapsed = elapsed
        self.location = location  # absolute URL a 3xx pointed to ("" otherwise)

    @property
    def redirected(self) -> bool:
        return 300 <= self.status < 400

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser allows
            return None


class RawHttp(EndsWithTheRun):
    """One request (a GET retried as every read), no redirects followed, no error mapping: for checks below
    the command layer.
    A redirect is an answer to judge, not to follow: requests would drop the token on the way to another host,
    and a 200 from there would pass for "token accepted"."""

    def __init__(self, settings: Settings):
        import requests

        self.settings = settings
        self.session = requests.Session()
        self.base_url = settings.base_url.rstrip("/")

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_data: dict[str, Any] | None = None,
        with_token: bool = True,
        max_body: int = 64 * 1024,
    ) -> RawResponse:
        """An HTTP answer of any status, its body cut at `max_body` bytes; no answer raises OnaError (status 0,
        `kind` timeout/dns/tls/connect/transport; a transport error's message is its innermost reason)."""
        import requests

        self.refuse_after_the_run()
        try:
            return self._send(
                method, path, params=params, json_data=json_data, with_token=with_token, max_body=max_body
            )
        except requests.exceptions.RequestException as exc:
            kind = transport_kind(exc) or TRANSPORT
            text = reason(exc) if kind != TRANSPORT else f"{type(exc).__name__}: {reason(exc)}"
            raise OnaError(text, 0, kind=kind) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        json_data: dict[str, Any] | None,
        with_token: bool,
        max_body: int,
    ) -> RawResponse:
        headers = api_headers(self.settings, with_token)
        started = time.monotonic()
        with self.session.request(
            method,
            self.base_url + path,
            params=params,
            json=json_data,
            headers=headers,
            timeout=self.settings.timeout,
            stream=True,
            allow_redirects=False,
        ) as response:
            body = b""
            for chunk in response.iter_content(16384):
                body += chunk
                if len(body) >= max_body:
                    break
            text = body[:max_body].decode(response.encoding or "utf-8", errors="replace")
            location = ""
            if 300 <= response.status_code < 400 and response.headers.get("Location"):
                location = urljoin(response.url, response.headers["Location"])
            return RawResponse(response.status_code, text, time.monotonic() - started, location, dict(response.headers))
