"""`--har PATH`: every request the run sent (API and S3) as a HAR 1.2 file, for a browser's developer tools
and HAR viewers. Built from the recorder's exchanges, which are redacted already (the Authorization header
and AWS's signature headers and query parameters masked, bodies capped). One page per plan step; each entry
says its step in `pageref` and in the custom fields `_step`, `_phase`, `_kind` (api | s3), `_error`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from ..files import open_report
from .recorder import Exchange

HTTP_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_id(exchange: Exchange) -> str:
    if exchange.step:
        return f"step {exchange.step}"
    return f"phase {exchange.phase}" if exchange.phase is not None else "run"


def _headers(pairs) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _mime(pairs, default: str = "application/octet-stream") -> str:
    for name, value in pairs:
        if name.lower() == "content-type":
            return value
    return default


def entry(exchange: Exchange) -> dict:
    ms = round(exchange.ms, 3)
    body = exchange.request_body or ""
    request = {
        "method": exchange.method,
        "url": exchange.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(exchange.request_headers),
        "queryString": [
            {"name": k, "value": v} for k, v in parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(body.encode("utf-8")) if body else 0,
    }
    if body:
        request["postData"] = {"mimeType": _mime(exchange.request_headers, "application/json"), "text": body}
    text = exchange.response_body
    fallback = "application/octet-stream" if exchange.status else "x-unknown"
    content = {"size": len(text.encode("utf-8")) if text else 0, "mimeType": _mime(exchange.response_headers, fallback)}
    if text is not None:
        content["text"] = text
    else:
        content["comment"] = "body not kept (streamed by the client or not text)"
    response = {
        "status": exchange.status,
        "statusText": HTTP_REASONS.get(exchange.status, "") if exchange.status else "no answer",
        "httpVersion": "HTTP/1.1" if exchange.status else "",
        "cookies": [],
        "headers": _headers(exchange.response_headers),
        "content": content,
        "redirectURL": next((v for n, v in exchange.response_headers if n.lower() == "location"), ""),
        "headersSize": -1,
        "bodySize": content["size"] if text is not None else -1,
    }
    item = {
        "pageref": page_id(exchange),
        "startedDateTime": iso(exchange.started),
        "time": ms,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": ms, "receive": 0},
        "_kind": exchange.kind,
        "_step": exchange.step,
        "_phase": exchange.phase,
    }
    if exchange.error:
        item["_error"] = exchange.error
        item["comment"] = exchange.error
    if exchange.operation:
        item["_operation"] = exchange.operation
    return item


def build(exchanges: list[Exchange], *, titles: dict[str, str] | None = None, version: str = "") -> dict:
    """The HAR document (`titles`: step id -> its title, for the pages)."""
    titles = titles or {}
    pages: dict[str, dict] = {}
    for exchange in exchanges:
        pid = page_id(exchange)
        if pid not in pages:
            title = f"{exchange.step} {titles.get(exchange.step, '')}".strip() if exchange.step else pid
            pages[pid] = {"startedDateTime": iso(exchange.started), "id": pid, "title": title, "pageTimings": {}}
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "zorora-e2e", "version": version or "0"},
            "pages": list(pages.values()),
            "entries": [entry(e) for e in exchanges],
            "comment": "the validator's own requests (API and S3); secrets redacted, bodies capped",
        }
    }


def write(path: str, exchanges: list[Exchange], **kwargs) -> None:
    with open_report(path) as handle:
        json.dump(build(exchanges, **kwargs), handle, indent=1)
        handle.write("\n")


__all__ = ["build", "entry", "write"]
