"""The six ONA operations as one small interface, with two adapters.

`ZororaClient` (zorora.py) goes through Zorora's own command classes and `ZororaHTTPClient` (what the REPL
user runs); `DirectClient` (direct.py) sends the same requests with `requests` when Zorora is not installed.
`RawHttp` (raw_http.py) is for the checks the plan makes below the command layer (preflight, server-side
validation, auth). Every failure is an `OnaError` whose `kind` (errors.py) says what happened.
"""

from __future__ import annotations

from ..config.settings import Settings
from .direct import DirectClient
from .errors import Cancelled, OnaError
from .interface import OnaClient, ZororaHTTP
from .raw_http import RawHttp, RawResponse
from .zorora import ZororaClient, extract_json_blocks, run_scope, zorora_available

__all__ = [
    "OnaError",
    "Cancelled",
    "DirectClient",
    "RawHttp",
    "RawResponse",
    "ZororaClient",
    "extract_json_blocks",
    "run_scope",
    "zorora_available",
    "make_client",
    "OnaClient",
    "ZororaHTTP",
]


def make_client(settings: Settings, http_client: ZororaHTTP | None = None) -> OnaClient:
    """The Zorora adapter when Zorora is importable (or a client was handed over), else direct HTTP."""
    if http_client is not None:
        return ZororaClient(http_client, settings.actor)
    if settings.client == "direct":
        return DirectClient(settings)
    if settings.client == "zorora" or zorora_available():
        if not zorora_available():
            from ..config.checks import SettingsError

            raise SettingsError(
                "--client zorora: the `zorora` package is not importable; put your Zorora "
                "checkout on PYTHONPATH (e.g. PYTHONPATH=~/zorora) or use --client direct"
            )
        return ZororaClient.from_settings(settings)
    return DirectClient(settings)
