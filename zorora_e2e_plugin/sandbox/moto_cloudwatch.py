"""The sandbox's CloudWatch: moto's CloudWatch backend behind its own loopback listener, through the same small
WSGI front as S3 (moto_s3.MotoS3, routed with moto's ``moto.cloudwatch.urls.url_paths``), so that a run's
``--metrics cloudwatch`` against the sandbox publishes somewhere real and a demo can read back what it published.
Every request is logged (kind "cloudwatch", its path the operation: ``PutMetricData``, ``ListMetrics`` ...).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Callable

from moto.cloudwatch.urls import url_paths

from .moto_s3 import MotoS3, _routes
from .record import RequestRecord
from .wsgi import Running, _raw_target


class MotoCloudWatch(MotoS3):
    """moto's CloudWatch as a WSGI app (the smithy-rpc-v2-cbor, JSON and query protocols, as moto serves them)."""

    def __init__(self) -> None:
        super().__init__()
        self._routes = {"monitoring": _routes(url_paths)}

    def routes_for(self, environ: dict[str, Any]):
        return self._routes["monitoring"]


def operation_of(environ: dict[str, Any]) -> str:
    """The operation a CloudWatch request names: /service/<svc>/operation/<Op> (CBOR), X-Amz-Target (JSON)."""
    path, _query = _raw_target(environ)
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[1].strip("/") or path
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    return target.rsplit(".", 1)[-1] if target else path


class RecordedCloudWatch:
    """Logs each request in the sandbox's request log (kind "cloudwatch")."""

    def __init__(self, servers: Running, app: Callable) -> None:
        self.servers, self.app = servers, app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        seen: dict[str, int] = {}

        def recording_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        operation = operation_of(environ)
        result = self.app(environ, recording_start_response)
        self.servers.sandbox._record(
            RequestRecord(
                "cloudwatch",
                environ.get("REQUEST_METHOD", ""),
                operation,
                seen.get("status", 0),
                started,
                time.monotonic(),
            )
        )
        return result


__all__ = ["MotoCloudWatch", "RecordedCloudWatch", "operation_of"]
