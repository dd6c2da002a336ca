"""`ml-validate-e2e`: the validation as a Zorora remote command.

The command is a subclass of the host's own `zorora.remote_command.RemoteCommand`, built when
`register(repl)` runs (so importing this module never imports zorora). `execute` parses its
flags, reuses the `ZororaHTTPClient` the REPL's `ml-*` commands hold, asks once before writing to
a real deployment, and hands over to the same engine as `zorora-e2e run`, which prints the live
report on `repl.ui.console`, the verdict once at its end. It returns an empty string that prints as nothing (Zorora
prints whatever it gets back twice: as text, then as Markdown between blank lines; console/last_line.py) and keeps
the verdict line in `last_verdict`.
It never raises: a `CommandError` would make Zorora print "Unknown command" as well, and anything else
ends the REPL.

Heavy imports (the engine, boto3, rich, argparse) happen inside `execute`; one execution (parse,
resolve, confirm, validate, verdict) is `invocation.SessionRun`, the parser is `config/flags.session_parser`.
"""

import os

COMMAND_NAME = "ml-validate-e2e"  # re-exported by the package
DESCRIPTION = "Validate Zorora <-> ONA platform end to end (phases 0-5, test data cleaned up)"

_classes: dict[type, type] = {}  # host RemoteCommand class -> our subclass of it


def register(repl):
    """Register `ml-validate-e2e` with `repl` through `repl.register_remote_command` (once)."""
    existing = getattr(repl, "remote_commands", {}).get(COMMAND_NAME)
    if existing is not None and getattr(existing, "_zorora_e2e_command", False):
        return existing
    from zorora.remote_command import RemoteCommand

    command = command_class(RemoteCommand)(repl)
    repl.register_remote_command(command)
    return command


def command_class(base):
    """Our command class for the host's `RemoteCommand` base (one per base, cached)."""
    cls = _classes.get(base)
    if cls is None:
        import types

        cls = types.new_class("ValidateE2ECommand", (_ValidateE2E, base))
        cls.__module__ = __name__
        _classes[base] = cls
    return cls


def find_repl_client(repl, exclude=None):
    """The `ZororaHTTPClient` held by the REPL's registered `ml-*` commands, or None."""
    try:
        from zorora.http_client import ZororaHTTPClient
    except ImportError:
        return None
    for name, command in list((getattr(repl, "remote_commands", None) or {}).items()):
        if command is exclude or not str(name).startswith("ml-"):
            continue
        client = getattr(command, "http_client", None)
        if isinstance(client, ZororaHTTPClient):
            return client
    return None


class _ValidateE2E:
    """Mixed in front of the host's RemoteCommand."""

    _zorora_e2e_command = True
    command_name = COMMAND_NAME

    def __init__(self, repl, http_client=None):
        if http_client is None:
            http_client = find_repl_client(repl)
        # a mixin: super() is the host's RemoteCommand, which mypy cannot see (it sees object)
        super().__init__(COMMAND_NAME, DESCRIPTION, http_client)  # type: ignore[call-arg]  # RemoteCommand's
        self.repl = repl
        self.last_verdict = None  # the last execution's verdict line ("" after --help, --history)

    # The REPL calls this. It must return a string and must not raise.
    def execute(self, args, context):
        from ..console.last_line import LastLineOpen
        from .invocation import RETURNED, SessionRun

        console = self._console()
        saved_env = dict(os.environ)
        held = LastLineOpen.install(console)  # the last line left open: one blank line after it, not three
        run = SessionRun(self, console, held)
        with _responsive_gil():
            try:
                try:
                    line = run.execute(list(args))
                except KeyboardInterrupt:
                    line = run.interrupted()
                except Exception as exc:  # a bug of ours must not end the user's REPL
                    line = run.crashed(exc)
                finally:
                    _restore_env(saved_env)
                self.last_verdict = line
                try:
                    run.show_verdict(line)  # in the run's colours (--no-color is still on)
                except KeyboardInterrupt:  # the REPL's main loop would take it as "exit Zorora"
                    pass
            finally:
                run.close()
                held.close()
        return RETURNED

    def repl_ona_client(self):
        """The REPL's own ONA client (held by its ml-* commands), or None."""
        return find_repl_client(self.repl, exclude=self)

    def _console(self):
        ui = getattr(self.repl, "ui", None)
        console = getattr(ui, "console", None)
        if console is not None:
            return console
        from ..report.console import make_console

        return make_console(no_color=bool(os.environ.get("NO_COLOR")))


class _responsive_gil:
    """Zorora's background threads can keep a core busy (e.g. parsing spreadsheets at start-up);
    a validation is thousands of short socket and file operations, each of which then waits up
    to the interpreter's switch interval (5 ms) to get the GIL back. A shorter interval while the
    command runs keeps a sandbox preflight under a second; the host's value comes back after."""

    INTERVAL = 0.001

    def __enter__(self):
        import sys

        self.saved = sys.getswitchinterval()
        if self.saved > self.INTERVAL:
            sys.setswitchinterval(self.INTERVAL)
        return self

    def __exit__(self, *exc):
        import sys

        sys.setswitchinterval(self.saved)
        return False


def _restore_env(saved):
    """Leave os.environ exactly as it was (ZORORA_AUTO_CONFIRM, ZORORA_ACTOR, AWS_*, ...)."""
    if os.environ == saved:
        return
    for name in [n for n in os.environ if n not in saved]:
        os.environ.pop(name, None)
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def usage_text():
    """The usage line (for docs and tests)."""
    from ..config.flags import session_parser

    return session_parser(lambda text: None, prog=COMMAND_NAME).format_usage().strip()


__all__ = ["COMMAND_NAME", "DESCRIPTION", "command_class", "find_repl_client", "register", "usage_text"]
