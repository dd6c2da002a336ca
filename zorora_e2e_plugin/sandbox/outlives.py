"""The lambda-outlives fault: API Gateway gives up on a promote/rollback (504) while the Lambda runs on and
writes later, as the real one can (its own limit is 15 minutes, API Gateway's about 29 s).
"""

from __future__ import annotations

import json
from typing import Any

from .wsgi import Running


def acts(body: bytes) -> bool:
    """A promote/rollback the Lambda would act on (a valid reason), not one refused in milliseconds."""
    try:
        reason = json.loads(body or b"{}").get("reason")
    except (ValueError, AttributeError):
        return False
    return isinstance(reason, str) and len(reason) >= 10


class LateWrites:
    """An S3 client whose first write waits `ms` (a Lambda busy past API Gateway's limit), and whose writes are
    unconditional (no If-Match: a Lambda that does not guard its writes)."""

    def __init__(self, s3: Any, servers: Running, ms: float) -> None:
        self._s3, self._servers, self._ms, self._waited = s3, servers, ms, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def _wait(self, key: str) -> None:
        if not self._waited and key.startswith(("customer_tailored/", "audit_logs/")):  # the lock is no effect
            self._waited = True
            self._servers.delay(self._ms)

    def put_object(self, **kwargs: Any) -> Any:
        self._wait(str(kwargs.get("Key", "")))
        kwargs.pop("IfMatch", None)
        kwargs.pop("IfNoneMatch", None)
        return self._s3.put_object(**kwargs)

    def delete_object(self, **kwargs: Any) -> Any:
        self._wait(str(kwargs.get("Key", "")))
        kwargs.pop("IfMatch", None)
        return self._s3.delete_object(**kwargs)
