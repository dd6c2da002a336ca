"""What the run asks of an API client, and what it uses of Zorora's: typing only (nothing here runs).

`OnaClient`: the six ONA operations, as `ZororaClient` (zorora.py) and `DirectClient` (direct.py) both offer them,
and the run's end (`closed`). `ZororaHTTP`: the little this package touches of Zorora's `ZororaHTTPClient`
(zorora/http_client.py), which is not installed beside this package: its requests session (the run's watch mounts
its adapter there) and its retry count (the run turns it off).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import requests


class OnaClient(Protocol):
    kind: str  # "zorora" or "direct"
    closed: bool  # the run is over: nothing more is sent (errors.EndsWithTheRun)

    def list_challengers(self, customer_id: str) -> dict[str, Any]: ...

    def show_metrics(self, model_id: str) -> dict[str, Any]: ...

    def diff(self, challenger_id: str, production_id: str) -> dict[str, Any]: ...

    def audit_log(self, customer_id: str) -> dict[str, Any]: ...

    def promote(self, customer_id: str, model_id: str, reason: str) -> dict[str, Any]: ...

    def rollback(self, customer_id: str, reason: str) -> dict[str, Any]: ...


class ZororaHTTP(Protocol):
    session: requests.Session
    max_retries: int


__all__ = ["OnaClient", "ZororaHTTP"]
