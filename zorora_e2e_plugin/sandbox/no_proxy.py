"""The sandbox's printed exports in a shell with a proxy set: loopback added to NO_PROXY (serve_forever)."""

from __future__ import annotations

import os

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def loopback_no_proxy(environ=None) -> dict[str, str]:
    """With a proxy set in the environment (a corporate shell), NO_PROXY/no_proxy with loopback added to what
    they hold: a client (Zorora) started with the printed exports reaches the sandbox directly, not through
    a proxy that cannot reach this machine's loopback. Nothing without a proxy."""
    env = os.environ if environ is None else environ
    if not any(env.get(name) for name in _PROXY_VARS):
        return {}
    out = {}
    for name in ("NO_PROXY", "no_proxy"):
        have = [part.strip() for part in env.get(name, "").split(",") if part.strip()]
        out[name] = ",".join(have + [host for host in _LOOPBACK if host not in have])
    return out
