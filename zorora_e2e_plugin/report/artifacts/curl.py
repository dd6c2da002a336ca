"""A curl line that sends a failing step's API request again, with `$ONA_API_TOKEN` where the token was:
the engineer (or the platform team) pastes it into a shell that has the token in its environment.
Built from the recorder's exchange (already redacted: the token itself is never in it).
"""

from __future__ import annotations

import shlex

from .recorder import Exchange

# steps that send nothing themselves and judge another step's answer: their curl line is that request's
JUDGES = {"0.2": "0.1"}  # 0.2 judges the token by 0.1's answer (ctx.preflight)
SKIP_HEADERS = {"authorization", "content-length", "host", "connection", "accept-encoding", "user-agent"}


TOKEN = "$ONA_API_TOKEN"
GONE = "<the sandbox's token, gone with it>"  # a sandbox that stopped with the run: not the engineer's token


def curl_line(exchange: Exchange, token: str = TOKEN) -> str:
    """`token`: what stands for the bearer token (GONE for a run's own sandbox: its URL and token went with it)."""
    parts = ["curl", "-sS", "-X", exchange.method, shlex.quote(exchange.url)]
    if exchange.had_token:
        parts += ["-H", f'"Authorization: Bearer {token}"']
    for name, value in exchange.request_headers:
        if name.lower() in SKIP_HEADERS or "***" in value:
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if exchange.request_body:
        parts += ["--data-raw", shlex.quote(exchange.request_body)]
    return " ".join(parts)


def failing_request(exchanges: list[Exchange]) -> Exchange | None:
    """The API request a failing step is best reproduced with: its last error answer (or request without
    one), else its last API request."""
    api = [e for e in exchanges if e.kind == "api"]
    if not api:
        return None
    bad = [e for e in api if e.status == 0 or e.status >= 400]
    return (bad or api)[-1]


__all__ = ["GONE", "TOKEN", "curl_line", "failing_request"]
