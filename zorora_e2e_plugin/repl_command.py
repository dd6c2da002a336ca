"""`ml-validate-e2e`: the validation as a Zorora remote command.

The command is a subclass of the host's own `zorora.remote_command.RemoteCommand`, built when
`register(repl)` runs (so importing this module never imports zorora). `execute` parses its
flags, reuses the `ZororaHTTPClient` the REPL's `ml-*` commands hold, asks once before writing to
a real deployment, and hands over to the same engine as `zorora-e2e run`, which prints the live
report on `repl.ui.console`. It returns a one-line verdict and never raises: a `CommandError`
would make Zorora print "Unknown command" as well, and anything else ends the REPL.

Heavy imports (the engine, boto3, rich, argparse) happen inside `execute`.
"""

import os

from . import COMMAND_NAME

DESCRIPTION = "Validate Zorora <-> ONA platform end to end (phases 0-5, test data cleaned up)"

USAGE_VERDICT = "✗ ml-validate-e2e not run: invalid arguments (usage above)."
HELP_VERDICT = "ml-validate-e2e: help shown above."

_classes = {}  # host RemoteCommand class -> our subclass of it


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

    def __init__(self, repl, http_client=None):
        if http_client is None:
            http_client = find_repl_client(repl)
        super().__init__(COMMAND_NAME, DESCRIPTION, http_client)
        self.repl = repl

    # The REPL calls this. It must return a string and must not raise.
    def execute(self, args, context):
        console = self._console()
        saved_env = dict(os.environ)
        run = _Run(self, console)
        with _responsive_gil():
            try:
                return run.execute(list(args))
            except KeyboardInterrupt:
                return run.interrupted()
            except Exception as exc:  # a bug of ours must not end the user's REPL
                return run.crashed(exc)
            finally:
                run.close()
                _restore_env(saved_env)

    def _console(self):
        ui = getattr(self.repl, "ui", None)
        console = getattr(ui, "console", None)
        if console is not None:
            return console
        from .report import make_console

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


class _Run:
    """One execution of the command: parse, resolve, confirm, validate, verdict."""

    def __init__(self, command, console):
        self.command = command
        self.console = console
        self.stage = "parse"  # parse -> confirm -> run (or sandbox)
        self.settings = None
        self.made_clients = []
        self.result = None  # the engine's RunResult, as soon as the run (cleanup included) is over

    # -- output helpers (outside text only ever goes in as rich Text, never as markup) ----------
    def say(self, text, style=""):
        from rich.text import Text

        self.console.print(Text(str(text), style=style), soft_wrap=True, highlight=False)

    @staticmethod
    def safe(text):
        from rich.markup import escape

        return escape(" ".join(str(text).split()))

    # -- the flow -------------------------------------------------------------------------------
    def execute(self, args):
        parser = _parser(self)
        try:
            options = parser.parse_args(args)
        except _HelpShown:
            return HELP_VERDICT
        except _UsageError as exc:
            self.say(parser.format_usage().rstrip(), "")
            self.say(f"ml-validate-e2e: error: {exc}", "red")
            return USAGE_VERDICT

        if options.sweep and (options.sandbox or options.preflight_only):
            self.say(parser.format_usage().rstrip(), "")
            self.say("ml-validate-e2e: error: --sweep cleans your deployment's bucket; it does not combine with "
                     "--sandbox or --preflight-only", "red")
            return USAGE_VERDICT

        if options.history:  # the run history, nothing else
            from .history import show

            show(self.console, limit=20)
            return "ml-validate-e2e: run history shown above."

        from .settings import SettingsError

        if not options.sweep:  # S3's models load (once per session) while the run gets ready
            from .store import prewarm

            prewarm()
        flags = _flags(options)
        try:
            if options.sweep:
                return self.run_sweep(options)
            if options.sandbox:
                return self.run_sandbox(flags)
            return self.run_target(flags)
        except SettingsError as exc:
            self.say(f"ml-validate-e2e: {exc}", "red")
            if self.stage == "parse" and self.repl_client is not None and not options.sandbox:
                self.say("(The REPL's ml-* commands read ONA_API_BASE_URL, ONA_API_TOKEN and ONA_USE_IAM when "
                         "Zorora starts; restart Zorora after changing them. Try ml-validate-e2e --sandbox "
                         "for a local demo.)", "dim")
            return "✗ ml-validate-e2e not run: settings incomplete (details above)."

    @property
    def repl_client(self):
        return find_repl_client(self.command.repl, exclude=self.command)

    def run_target(self, flags):
        from .engine import describe_writes, needs_confirmation, validate
        from .settings import resolve

        client = self.repl_client
        if client is not None:
            flags.update(base_url=client.base_url, token=client.auth_token or "", use_iam=bool(client.use_iam),
                         token_setting="ONA_API_TOKEN (as Zorora read it at start-up)")
        settings = self.settings = resolve(flags, os.environ)
        if client is None:
            client = self.new_client(settings, timeout=30, max_retries=3)  # as register_ona_commands does
        if needs_confirmation(settings):
            self.stage = "confirm"
            if not self.confirm(describe_writes(settings)):
                return "✗ ml-validate-e2e cancelled: nothing was written."
        self.stage = "run"
        result = validate(settings, console=self.console, http_client=client, print_verdict=False,
                          observers=[_KeepResult(self)])
        return self.verdict(result)

    def run_sandbox(self, flags):
        try:
            import moto  # noqa: F401  (the sandbox's S3)
        except ImportError:
            self.say("ml-validate-e2e --sandbox needs moto: pip install 'zorora-e2e-plugin[sandbox]'", "red")
            return "✗ ml-validate-e2e not run: the sandbox is not installed (details above)."
        from .engine import validate_in_sandbox

        template = self.repl_client

        def factory(settings):
            return self.new_client(settings, timeout=settings.timeout,
                                   max_retries=getattr(template, "max_retries", 3))

        self.stage = "sandbox"
        result = validate_in_sandbox(flags, console=self.console, env=os.environ, http_client_factory=factory,
                                     print_verdict=False, observers=[_KeepResult(self)])
        return self.verdict(result)

    def run_sweep(self, options):
        """`--sweep`: the same as `zorora-e2e sweep`, for data left by runs that were killed."""
        from .confirm import can_prompt, confirm
        from .settings import resolve_storage
        from .sweep import sweep

        storage = resolve_storage({"bucket": options.bucket}, os.environ)
        self.stage = "sweep"
        _code, summary = sweep(storage, older_than=options.older_than, customer_id=options.customer_id,
                               dry_run=options.dry_run, assume_yes=options.yes, console=self.console,
                               ask=confirm if can_prompt() else None)
        return self.safe(summary)

    def new_client(self, settings, *, timeout, max_retries):
        """A ZororaHTTPClient of the host's class, built the way Zorora builds one."""
        try:
            from zorora.http_client import ZororaHTTPClient
        except ImportError:
            return None
        client = ZororaHTTPClient(base_url=settings.base_url, auth_token=settings.token,
                                  use_iam=settings.use_iam, timeout=timeout, max_retries=max_retries)
        self.made_clients.append(client)
        return client

    def confirm(self, text):
        from .confirm import can_prompt, confirm

        if not can_prompt():
            self.say(text)
            self.say("Not asking without a terminal: nothing was written. Re-run with --yes to proceed.", "yellow")
            return False
        if confirm(text):
            return True
        self.say("Cancelled: nothing was written.", "yellow")
        return False

    def verdict(self, result):
        from .report import verdict_line

        return self.safe(verdict_line(result))

    # -- endings that are not a verdict from the engine ------------------------------------------
    def interrupted(self):
        if self.result is not None:  # a Ctrl-C after the run had cleaned up: its verdict stands
            return self.verdict(self.result)
        if self.stage == "sweep":
            self.say("Interrupted: the sweep may have deleted part of what it listed; run it again to finish.",
                     "yellow")
            return "⚠ Sweep interrupted; run ml-validate-e2e --sweep again to finish."
        if self.stage == "sandbox":
            self.say("Interrupted: the sandbox was stopped and its data discarded.", "yellow")
            return "⚠ ml-validate-e2e --sandbox interrupted; the sandbox was stopped."
        if self.stage == "run":
            self.say(self.leftover_hint("Interrupted before the run could finish its cleanup"), "bold yellow")
            return "⚠ E2E validation interrupted; its cleanup may not have finished (see above)."
        self.say("Interrupted: nothing was written.", "yellow")
        return "⚠ ml-validate-e2e interrupted before the run: nothing was written."

    def crashed(self, exc):
        import logging

        logging.getLogger("zorora_e2e_plugin").exception("ml-validate-e2e failed")
        self.say(f"ml-validate-e2e failed unexpectedly: {type(exc).__name__}: {exc}", "bold red")
        if self.stage == "sandbox":
            return "✗ ml-validate-e2e --sandbox crashed (details above); the sandbox was stopped."
        if self.stage == "run":
            self.say(self.leftover_hint("The run did not finish"), "yellow")
            return "✗ ml-validate-e2e crashed during the run (details above); check for leftover test data."
        return "✗ ml-validate-e2e crashed before the run (details above): nothing was written."

    def leftover_hint(self, what):
        s = self.settings
        from .plan import sweep_command_for

        return (f"{what}: test data for customer {s.customer_id} may be left in s3://{s.bucket}. Remove it with: "
                f"{sweep_command_for(s)}")

    def close(self):
        for client in self.made_clients:
            try:
                client.session.close()
            except Exception:
                pass
        self.made_clients.clear()


class _KeepResult:
    """Catches the run's result when the engine reports it (after the cleanup), so that a Ctrl-C landing
    between the end of the run and the verdict being returned does not claim the cleanup may be unfinished."""

    def __init__(self, run):
        self.run = run

    def run_started(self, ctx, phases):
        pass

    def phase_started(self, phase):
        pass

    def step_finished(self, result):
        pass

    def notice(self, text):
        pass

    def run_finished(self, result):
        self.run.result = result


# -- flags ------------------------------------------------------------------------------------

class _UsageError(Exception):
    pass


class _HelpShown(Exception):
    pass


def _flags(options):
    flags = {
        "customer_id": options.customer_id,
        "actor": options.actor,
        "bucket": options.bucket,
        "keep_data": options.keep_data,
        "json_path": os.path.expanduser(options.json_path) if options.json_path else None,
        "junit_path": os.path.expanduser(options.junit_path) if options.junit_path else None,
        "assume_yes": options.yes,
    }
    if options.preflight_only:
        flags["phases"] = [0]
    return flags


def _parser(run):
    """An argparse parser that prints to the REPL console and raises instead of exiting."""
    import argparse

    from .settings import DEFAULT_ACTOR, DEFAULT_BUCKET

    class Parser(argparse.ArgumentParser):
        def _print_message(self, message, file=None):
            if message:
                run.say(message.rstrip("\n"))

        def exit(self, status=0, message=None):
            if status == 0:  # --help, after printing
                raise _HelpShown()
            raise _UsageError((message or "invalid arguments").strip())

        def error(self, message):
            raise _UsageError(message)

    width = max(60, min(100, (getattr(getattr(run, "console", None), "width", 80) or 80) - 2))

    class Formatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog):
            super().__init__(prog, width=width, max_help_position=26)

        def _split_lines(self, text, width):
            import textwrap

            return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    parser = Parser(
        prog=COMMAND_NAME, add_help=True, allow_abbrev=False, formatter_class=Formatter,
        description="Prove the Zorora REPL -> ONA globalTrainingService -> S3 chain works end to end:\n"
                    "preflight, test data, read-only commands, promote and rollback through Zorora's\n"
                    "own ml-* command classes, error handling, cleanup. Uses the REPL's ONA client\n"
                    "(ONA_API_BASE_URL, ONA_API_TOKEN, ONA_USE_IAM as read when Zorora started).",
        epilog="examples:\n"
               "  ml-validate-e2e --sandbox           demo against a local sandbox (no AWS)\n"
               "  ml-validate-e2e --preflight-only    check the deployment before a promotion\n"
               "  ml-validate-e2e --yes --json e2e.json\n"
               "  ml-validate-e2e --sweep --dry-run   list test data left by killed runs")
    parser.add_argument("--preflight-only", action="store_true",
                        help="phase 0 only: reachability, token, Lambda logic, bucket (writes one probe object)")
    parser.add_argument("--sandbox", action="store_true",
                        help="start a local sandbox (ONA API + S3 on loopback) and validate it: a demo, no AWS")
    parser.add_argument("--keep-data", action="store_true", help="skip cleanup; print the S3 prefixes left")
    parser.add_argument("--customer-id", metavar="ID",
                        help="test customer id, must start with zorora-e2e-test- (default: a fresh one)")
    parser.add_argument("--actor", metavar="NAME", help=f"actor sent with promote/rollback (default {DEFAULT_ACTOR})")
    parser.add_argument("--bucket", metavar="NAME", help=f"the Lambda's OUTPUT_BUCKET (default {DEFAULT_BUCKET})")
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--junit", dest="junit_path", metavar="PATH", help="also write the results as JUnit XML")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="do not ask before writing test data to a non-local deployment (or, with --sweep, "
                             "before deleting)")
    parser.add_argument("--sweep", action="store_true",
                        help="instead of validating: find zorora-e2e-test-* data left by killed runs and delete it "
                             "after confirmation (nothing else is ever touched)")
    parser.add_argument("--older-than", metavar="AGE", default="1h",
                        help="with --sweep: only data older than this, e.g. 30s, 15m, 1h, 2d (default 1h)")
    parser.add_argument("--dry-run", action="store_true", help="with --sweep: list, delete nothing")
    parser.add_argument("--history", action="store_true",
                        help="instead of validating: recent runs per target with verdicts, durations, cold starts "
                             "and the last passing preflight (from ~/.zorora/e2e-history.jsonl)")
    return parser


def usage_text():
    """The usage line (for docs and tests)."""
    class _Quiet:
        def say(self, *a, **k):
            pass

    return _parser(_Quiet()).format_usage().strip()


__all__ = ["COMMAND_NAME", "DESCRIPTION", "command_class", "find_repl_client", "register", "usage_text"]
