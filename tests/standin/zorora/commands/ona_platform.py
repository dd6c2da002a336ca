"""Stand-in for `zorora.commands.ona_platform` (docs/platform.md, the commands): the six `ml-*` commands and
`register_ona_commands(repl)`, with the host's documented quirks (raw model id in the path, the
`production/latest` placeholder, text-with-two-JSON-blocks from promote, ZORORA_AUTO_CONFIRM)."""

from __future__ import annotations

import os
from typing import Any

from zorora.http_client import HTTPError, ZororaHTTPClient
from zorora.remote_command import CommandError, RemoteCommand

STANDIN_DEFAULT_BASE_URL = "https://ona-api.invalid/prod/api/v1"


def _confirmed(ui: Any, question: str) -> bool:
    """No UI: only ZORORA_AUTO_CONFIRM=true says yes. With a UI: ask on input()."""
    if not ui:
        return os.getenv("ZORORA_AUTO_CONFIRM", "false").lower() == "true"
    try:
        answer = input(question + " (yes/no): ")
    except Exception:
        return False
    return answer.strip().lower() in ("y", "yes")


class _Simple(RemoteCommand):
    """A GET command: fixed arity, pretty JSON back, HTTPError -> CommandError."""

    usage = ""
    failure = ""

    def request(self, args: list[str]) -> dict:
        raise NotImplementedError

    def execute(self, args: list[str], context: dict[str, Any]) -> str:
        self.validate_args(args, self.usage.count("<"), self.usage)
        try:
            return self.format_response(self.request(args))
        except HTTPError as exc:
            raise CommandError(f"{self.failure}: {exc.message}")  # noqa: B904 - as Zorora raises it: the HTTPError is the implicit __context__, no __cause__


class ListChallengersCommand(_Simple):
    usage = "ml-list-challengers <customer_id>"
    failure = "Failed to list challengers"

    def __init__(self, http_client: ZororaHTTPClient):
        super().__init__("ml-list-challengers", "List challenger models for a customer", http_client)

    def request(self, args: list[str]) -> dict:
        return self.http_client.get("/challengers", params={"customer_id": args[0]})


class ShowMetricsCommand(_Simple):
    usage = "ml-show-metrics <model_id>"
    failure = "Failed to fetch metrics"

    def __init__(self, http_client: ZororaHTTPClient):
        super().__init__("ml-show-metrics", "Show evaluation metrics for a model", http_client)

    def request(self, args: list[str]) -> dict:
        try:
            return self.http_client.get("/metrics/" + args[0])  # raw: ids contain '/'
        except HTTPError as exc:
            if exc.status_code == 404:
                raise CommandError(f"Model {args[0]} not found")  # noqa: B904 - as Zorora raises it: the HTTPError is the implicit __context__, no __cause__
            raise


class DiffModelsCommand(_Simple):
    usage = "ml-diff <challenger_id> <production_id>"
    failure = "Failed to compare models"

    def __init__(self, http_client: ZororaHTTPClient):
        super().__init__("ml-diff", "Compare challenger vs production model", http_client)

    def request(self, args: list[str]) -> dict:
        return self.http_client.get("/diff", params={"challenger_id": args[0], "production_id": args[1]})


class AuditLogCommand(_Simple):
    usage = "ml-audit-log <customer_id>"
    failure = "Failed to fetch audit log"

    def __init__(self, http_client: ZororaHTTPClient):
        super().__init__("ml-audit-log", "Get audit log for a customer", http_client)

    def request(self, args: list[str]) -> dict:
        return self.http_client.get("/audit-log", params={"customer_id": args[0]})


class PromoteModelCommand(RemoteCommand):
    def __init__(self, http_client: ZororaHTTPClient, ui: Any = None):
        super().__init__("ml-promote", "Promote challenger model to production", http_client)
        self.ui = ui

    def execute(self, args: list[str], context: dict[str, Any]) -> str:
        if len(args) < 3:
            raise CommandError("Usage: ml-promote <customer_id> <model_id> <reason> [--force]")
        customer_id, model_id = args[0], args[1]
        force = "--force" in args[2:]
        reason = " ".join(word for word in args[2:] if word != "--force")
        if len(reason) < 10:
            raise CommandError("Reason must be at least 10 characters")
        try:
            listing = self.http_client.get("/challengers", params={"customer_id": customer_id})
            if not any(c.get("model_id") == model_id for c in listing.get("challengers", [])):
                raise CommandError(f"Challenger {model_id} not found")
            diff = self.http_client.get(
                "/diff", params={"challenger_id": model_id, "production_id": customer_id + "/production/latest"}
            )
            comparison = "Model Comparison:\n" + self.format_response(diff) + "\n\n"
            if diff.get("verdict") != "eligible" and not force:
                raise CommandError("Challenger is not eligible for promotion. Verdict: " + str(diff.get("verdict")))
            if not _confirmed(self.ui, f"Promote challenger {model_id} to production for customer {customer_id}?"):
                return "Promotion cancelled by user"
            if force and not _confirmed(self.ui, "WARNING: --force bypasses safety gates. Continue?"):
                return "Promotion cancelled by user"
            answer = self.http_client.post(
                "/promote",
                json_data={
                    "customer_id": customer_id,
                    "model_id": model_id,
                    "reason": reason,
                    "force": force,
                    "actor": context.get("actor", "zorora-user"),
                },
            )
            return comparison + "✓ Promotion successful:\n" + self.format_response(answer)
        except HTTPError as exc:
            raise CommandError("Failed to promote model: " + exc.message)  # noqa: B904 - as Zorora raises it: the HTTPError is the implicit __context__, no __cause__


class RollbackModelCommand(RemoteCommand):
    def __init__(self, http_client: ZororaHTTPClient, ui: Any = None):
        super().__init__("ml-rollback", "Rollback production model to previous version", http_client)
        self.ui = ui

    def execute(self, args: list[str], context: dict[str, Any]) -> str:
        if len(args) < 2:
            raise CommandError("Usage: ml-rollback <customer_id> <reason>")
        customer_id, reason = args[0], " ".join(args[1:])
        if len(reason) < 10:
            raise CommandError("Reason must be at least 10 characters")
        if not _confirmed(self.ui, f"Rollback production model for customer {customer_id}?"):
            return "Rollback cancelled by user"
        try:
            answer = self.http_client.post(
                "/rollback",
                json_data={"customer_id": customer_id, "reason": reason, "actor": context.get("actor", "zorora-user")},
            )
        except HTTPError as exc:
            raise CommandError("Failed to rollback model: " + exc.message)  # noqa: B904 - as Zorora raises it: the HTTPError is the implicit __context__, no __cause__
        return "✓ Rollback successful:\n" + self.format_response(answer)


def register_ona_commands(repl: Any) -> None:
    client = ZororaHTTPClient(
        base_url=os.getenv("ONA_API_BASE_URL", STANDIN_DEFAULT_BASE_URL),
        auth_token=os.getenv("ONA_API_TOKEN", ""),
        use_iam=os.getenv("ONA_USE_IAM", "false").lower() == "true",
    )
    ui = getattr(repl, "ui", None)
    for command in (
        ListChallengersCommand(client),
        ShowMetricsCommand(client),
        DiffModelsCommand(client),
        PromoteModelCommand(client, ui=ui),
        RollbackModelCommand(client, ui=ui),
        AuditLogCommand(client),
    ):
        repl.register_remote_command(command)
