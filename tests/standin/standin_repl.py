"""A stand-in for the Zorora REPL object and its dispatch, written from docs/platform.md, section 1.

`StandinREPL` has what a remote command can see of the real `repl.REPL`: `remote_commands`,
`register_remote_command`, `get_execution_context` and `ui.console` (a rich Console honouring
no-colour). `handle(line)` follows the documented dispatch rules, host quirks included:

* input starting with `ml-` / `/ml-` (prefix test case-insensitive) is split with shlex and looked up
  by name (case-sensitive), then run as `execute(args, context)`;
* the returned string is printed with `console.print` (rich markup interpreted) and rendered again
  as Markdown;
* a CommandError/HTTPError prints a red `Error: ...` line and then also `Unknown command: <input>` (the real
  REPL says `API Error: ...` for an HTTPError; Zorora's commands never let one out);
* any other exception reaches the main loop, which shows an error panel and ends the REPL, as a
  stray closing tag in a returned string does in the real host;
* with legacy workflows disabled every `ml-` command is refused.

`main()` starts like Zorora's main.py (create the REPL, then `register_ona_commands(repl)` inside
try/except) and runs a prompt loop on `input()`, so a terminal test can drive it.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

try:
    from zorora.http_client import HTTPError
    from zorora.remote_command import CommandError, RemoteCommand
except ImportError:  # the host runs without remote command support
    RemoteCommand = CommandError = HTTPError = None  # type: ignore[assignment,misc]

logger = logging.getLogger("standin_repl")
PROMPT = "zorora> "


class StandinUI:
    def __init__(self, no_color: bool = False, console: Console | None = None):
        self.no_color = no_color or os.getenv("NO_COLOR") is not None
        self.console = console or Console(
            force_terminal=sys.stdout.isatty() and not self.no_color, no_color=self.no_color
        )

    def display_response(self, response: str, execution_time: float | None = None) -> None:
        self.console.print()
        self.console.print(Markdown(response))
        self.console.print()

    def display_error(self, kind: str, message: str) -> None:
        self.console.print(Panel(Text(f"✗ {kind.upper()}: {message}", style="bold red"), border_style="red"))


class StandinREPL:
    def __init__(self, no_color: bool = False, console: Console | None = None, legacy_enabled: bool | None = None):
        self.ui = StandinUI(no_color=no_color, console=console)
        self.remote_commands: dict[str, Any] = {}
        if legacy_enabled is None:
            legacy_enabled = os.getenv("STANDIN_REPL_LEGACY_ENABLED", "true").lower() == "true"
        self.legacy_enabled = legacy_enabled
        self.responses: list[str] = []  # what display_response was given, for tests

    # -- what a remote command sees ---------------------------------------------------------
    def register_remote_command(self, command: Any) -> None:
        if RemoteCommand is None:
            self.ui.console.print("[yellow]Warning: Remote command support not available[/yellow]")
            return
        if not isinstance(command, RemoteCommand):
            self.ui.console.print("[red]Error: Command must be instance of RemoteCommand[/red]")
            return
        self.remote_commands[command.name] = command
        self.ui.console.print(f"[dim]Registered remote command: {command.name}[/dim]")

    def get_execution_context(self) -> dict[str, str]:
        return {
            "actor": os.getenv("ZORORA_ACTOR", os.getenv("USER", "zorora-user")),
            "environment": os.getenv("ZORORA_ENV", "prod"),
            "request_id": f"zorora-{os.getpid()}-{id(self)}",
        }

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, line: str) -> None:
        """One line of input that starts with '/' or 'ml-'. Exceptions other than the host's
        command errors propagate (the main loop turns them into a fatal error)."""
        outcome = self._remote(line)
        if outcome is not None:
            self.responses.append(outcome)
            self.ui.display_response(outcome)
        else:
            self.ui.console.print(f"[red]Unknown command: {line}[/red]")

    def _remote(self, line: str) -> str | None:
        console = self.ui.console
        if not self.legacy_enabled:
            console.print("[yellow]REPL legacy workflows are disabled in this deployment.[/yellow]")
            return None
        if not line.lower().strip().startswith(("ml-", "/ml-")):
            return None
        if RemoteCommand is None:
            console.print("[red]Error: Remote command support not available[/red]")
            return None
        try:
            words = shlex.split(line.lstrip("/"))
        except ValueError as exc:
            console.print(f"[red]Invalid command syntax: {exc}[/red]")
            return None
        name, args = (words[0], words[1:]) if words else (line, [])
        command = self.remote_commands.get(name)
        if command is None:
            console.print(f"[red]Unknown remote command: {name}[/red]")
            console.print(f"[dim]Available remote commands: {', '.join(self.remote_commands)}[/dim]")
            return None
        try:
            result = command.execute(args, self.get_execution_context())
            console.print(result)
            return result
        except Exception as exc:
            if isinstance(exc, CommandError):
                console.print(f"[red]Error: {exc.message}[/red]")
                return None
            if isinstance(exc, HTTPError):
                console.print(f"[red]API Error: {exc.message}[/red]")
                return None
            raise

    def run(self, read=input) -> int:
        """The prompt loop. Returns 0 on exit/EOF/Ctrl-C at the prompt, 1 after a fatal error."""
        console = self.ui.console
        try:
            while True:
                try:
                    line = read(PROMPT).strip()
                except EOFError:
                    return 0
                if not line:
                    continue
                if line.lower() in ("exit", "quit", "q"):
                    console.print("[dim]Exiting.[/dim]")
                    return 0
                if line.startswith("/") or line.lower().startswith("ml-"):
                    self.handle(line)
                else:
                    console.print("(the stand-in REPL has no LLM; only /ml- and ml- commands work)")
        except KeyboardInterrupt:
            console.print("\n[dim]Exiting.[/dim]")
            return 0
        except Exception as exc:
            self.ui.display_error("error", f"Fatal error: {exc}")
            return 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    repl = StandinREPL(no_color="--no-color" in argv)
    try:
        from zorora.commands.ona_platform import register_ona_commands

        register_ona_commands(repl)
    except ImportError:
        pass
    except Exception as exc:  # as main.py: logged, never fatal
        logger.warning("Failed to register ONA commands: %s", exc)
    repl.ui.console.print(Panel(Text("Zorora stand-in REPL (tests)", style="bold cyan")))
    return repl.run()


if __name__ == "__main__":
    sys.exit(main())
