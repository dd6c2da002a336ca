"""Stand-in `ZororaHTTPClient` / `HTTPError` (docs/platform.md, Zorora's client: `zorora.http_client`)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urljoin

import requests


class HTTPError(Exception):
    def __init__(self, message: str, status_code: int = 0):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ZororaHTTPClient:
    def __init__(
        self,
        base_url: str,
        auth_token: str | None = None,
        use_iam: bool = False,
        timeout: int = 30,
        max_retries: int = 3,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.auth_token = auth_token
        self.use_iam = use_iam
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = requests.Session()
        self.session.headers["Content-Type"] = "application/json"

    def _actor(self) -> str:
        explicit = os.getenv("ZORORA_ACTOR")
        if explicit:
            return explicit
        role_arn = os.getenv("AWS_ROLE_ARN", "")
        if self.use_iam and "/" in role_arn:
            return role_arn.rsplit("/", 1)[-1]
        return os.getenv("USER", "zorora-user")

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if not self.use_iam and self.auth_token:
            headers["Authorization"] = "Bearer " + self.auth_token
        headers.update(extra or {})
        headers["X-Actor"] = self._actor()
        return headers

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json_data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict:
        url = urljoin(self.base_url, path.lstrip("/"))
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            final = attempt == attempts - 1
            try:
                response = self.session.request(
                    method, url, params=params, json=json_data, headers=self._headers(headers), timeout=self.timeout
                )
            except requests.exceptions.Timeout:
                if final:
                    raise HTTPError(f"Request timeout after {self.timeout}s", status_code=0)  # noqa: B904 - as Zorora's client raises it: requests' error is the implicit __context__
                continue
            except requests.exceptions.ConnectionError as exc:
                if final:
                    raise HTTPError(f"Connection error: {exc}", status_code=0)  # noqa: B904 - as Zorora's client raises it: requests' error is the implicit __context__
                continue
            code = response.status_code
            if 200 <= code < 300:
                return response.json()
            if code == 401:
                raise HTTPError(f"Unauthorized: {response.text}", 401)
            if code == 404:
                raise HTTPError(f"Not found: {response.text}", 404)
            if code >= 500:
                if final:
                    raise HTTPError(f"Server error: {response.text}", code)
                continue
            raise HTTPError(f"Client error: {response.text}", code)
        raise HTTPError("no attempt made", 0)

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict:
        return self.request("GET", path, params=params)

    def post(self, path: str, json_data: dict[str, Any] | None = None) -> dict:
        return self.request("POST", path, json_data=json_data)

    def put(self, path: str, json_data: dict[str, Any] | None = None) -> dict:
        return self.request("PUT", path, json_data=json_data)

    def delete(self, path: str) -> dict:
        return self.request("DELETE", path)
