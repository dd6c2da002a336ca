"""One request the validator sent and its answer, as the recorder keeps it (redacted already)."""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Optional, Tuple
from urllib.parse import urlsplit

BODY_LIMIT = 8 * 1024  # characters of a body kept (after redaction)
SECRET_HEADERS = {"authorization", "proxy-authorization", "x-amz-security-token", "cookie", "set-cookie",
                  "x-api-key"}
SECRET_QUERY = {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid"}
ROUTES = ("/challengers", "/metrics", "/diff", "/promote", "/rollback", "/audit-log")


@dataclasses.dataclass
class Exchange:
    """One request and its answer, redacted. `status` 0: no answer (`error` says why)."""

    kind: str  # "api" | "s3"
    method: str
    url: str
    started: float  # wall clock (epoch seconds)
    seconds: float
    status: int = 0
    error: str = ""
    request_headers: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    request_body: str = ""
    response_headers: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    response_body: Optional[str] = None  # None: not read by the client (streamed) or not text
    step: str = ""  # the plan step that sent it ("" when none was running)
    phase: Optional[int] = None
    had_token: bool = False  # it carried `Authorization: Bearer <the token>`
    operation: str = ""  # S3's operation name (PutObject, ...)
    mono: float = 0.0  # monotonic start, for ordering against step windows

    @property
    def ms(self) -> float:
        return self.seconds * 1000

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def route(self, base_path: str = "") -> str:
        """'GET /metrics' (API, ids and query left out) or 'S3 PutObject'."""
        if self.kind == "s3":
            return f"S3 {self.operation or self.method}"
        path = urlsplit(self.url).path
        if base_path and path.startswith(base_path):
            path = path[len(base_path):]
        segment = "/" + path.lstrip("/").split("/", 1)[0]
        return f"{self.method} {segment if segment in ROUTES else path or '/'}"


def capped(text: str, redact: Callable[[str], str]) -> str:
    """Redact first, then cut: a token cut in half would slip past the redaction."""
    return redact(text[:BODY_LIMIT + 1024])[:BODY_LIMIT] + ("…" if len(text) > BODY_LIMIT else "")


def as_text(body) -> Optional[str]:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if isinstance(body, (bytes, bytearray)):
        return bytes(body).decode("utf-8", errors="replace")
    return None  # a stream or file: not read here
