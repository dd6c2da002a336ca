"""Who answered: API Gateway itself, or the Lambda behind it.

API Gateway's own answers are few and fixed: a JSON body `{"message": "<one of GATEWAY_MESSAGES>"}` and, on
most of them, an `x-amzn-ErrorType` header. Everything else is the Lambda's, whatever key its error uses
(`error` in the sandbox; `message` is as plausible: Zorora's own integration script accepts either). The
key name never decides (docs/platform.md, who answered an error: the key of the Lambda's error body is
assumed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

#: the bodies API Gateway sends itself, as `{"message": ...}` (exact text)
GATEWAY_MESSAGES = frozenset(
    {
        "Not Found",
        "Unauthorized",
        "Forbidden",
        "Internal Server Error",
        "Endpoint request timed out",
        "Service Unavailable",
        "Too Many Requests",
        "Missing Authentication Token",
        "Bad Gateway",
        "Request Timeout",
    }
)

#: the labels Zorora's ZororaHTTPClient puts before the body in its HTTPError message
ZORORA_LABELS = ("Unauthorized: ", "Not found: ", "Server error: ", "Client error: ")


def parse_json(body: str):
    try:
        return json.loads(body)
    except (TypeError, ValueError, RecursionError):  # RecursionError: nested deeper than the parser allows
        return None


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    if not headers:
        return ""
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value)
    return ""


def from_gateway(status: int | None, body: str, headers: Mapping[str, str] | None = None) -> bool:
    """API Gateway answered itself (the Lambda never did, or crashed): its `x-amzn-ErrorType` header, or one
    of its fixed bodies exactly."""
    if status is None or status < 400:
        return False
    if _header(headers, "x-amzn-errortype"):
        return True
    data = parse_json(body)
    return (
        isinstance(data, dict)
        and set(data) == {"message"}
        and isinstance(data["message"], str)
        and data["message"].strip() in GATEWAY_MESSAGES
    )


def is_gateway_404(status: int | None, body: str, headers: Mapping[str, str] | None = None) -> bool:
    """API Gateway's own 404: no route matched (`{"message":"Not Found"}`)."""
    return status == 404 and from_gateway(status, body, headers)


def answer_source(status: int, body: str, headers: Mapping[str, str] | None = None) -> str:
    """Who answered, by the answer's source and shape rather than one exact status code (the real Lambda's
    4xx codes are not public): "accepted" (2xx), "gateway" (API Gateway's 404: route not deployed), "auth"
    (401/403), "throttled" (429), "server" (5xx), "lambda" (a 4xx whose body is a JSON object not one of API
    Gateway's own: any key), or "other" (a 4xx in any other shape: a page, plain text, a bare array)."""
    if 200 <= status < 300:
        return "accepted"
    if is_gateway_404(status, body, headers):
        return "gateway"
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "throttled"
    if status >= 500:
        return "server"
    if 400 <= status < 500 and isinstance(parse_json(body), dict) and not from_gateway(status, body, headers):
        return "lambda"
    return "other"


def zorora_body(message: str) -> str:
    """The response body inside a Zorora HTTPError message ("Not found: <body>" -> "<body>")."""
    for label in ZORORA_LABELS:
        if message.startswith(label):
            return message[len(label) :]
    return message
