"""Stand-in `RemoteCommand` / `CommandError` (docs/platform.md, the commands: `zorora.remote_command`)."""

from __future__ import annotations

import abc
import json
from typing import Any


class CommandError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RemoteCommand(abc.ABC):
    def __init__(self, name: str, description: str, http_client: Any):
        self.name = name
        self.description = description
        self.http_client = http_client

    @abc.abstractmethod
    def execute(self, args: list[str], context: dict[str, Any]) -> str:
        """Run with the REPL's arguments; return text for the REPL."""

    def validate_args(self, args: list[str], required_count: int, usage: str) -> None:
        if len(args) < required_count:
            raise CommandError("Usage: " + usage)

    def format_response(self, data: Any) -> str:
        return json.dumps(data, indent=2)
