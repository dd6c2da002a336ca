"""One client-facing request in the sandbox's request log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One client-facing request. Attribute access, or ``record["status"]`` like a dict."""

    kind: str  # "api" or "s3"
    method: str
    path: str
    status: int
    started: float  # time.monotonic()
    ended: float
    actor: str = ""  # API requests: the body's actor, else X-Actor (what the Lambda records), "" when none
    query: str = ""  # the raw query string
    at: float = 0.0  # time.time() when it started (for a log line's clock time)
    keys: tuple[str, ...] = ()  # S3 deletes: the keys the request named (DeleteObject's, DeleteObjects' body)
    versions: bool = False  # S3 deletes: the request named object versions (versionId, DeleteObjects' VersionId)

    @property
    def duration(self) -> float:
        return self.ended - self.started

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
