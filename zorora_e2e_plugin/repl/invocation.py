"""One execution of `ml-validate-e2e` inside the REPL: parse, resolve, confirm, validate, verdict.

`SessionRun.execute(args)` returns the one-line verdict of the execution (a mistake: one red `Error: ...` line,
as Zorora answers its own); the endings that are not a verdict from the engine (Ctrl-C, a bug of ours) have their
own lines, each saying what may be left. `show_verdict(line)` prints it once, last, unless what was printed last
already says it. The command then returns RETURNED to the host, which prints whatever it gets twice (console.print,
then again as Markdown): RETURNED prints as nothing, and the last line is left open for the host's blank line
(console/last_line.py). Outside text only ever reaches the console as rich Text, never as markup. Imported when
the command first runs, never at registration.
"""

import os

from ..config.faces import NO_TARGET, REPL, Target
from ..config.flags import HelpShown, RunFlags, SweepFlags, UsageError, clashes, session_parser
from ..core.steps import Reporter

ERROR = "Error: "  # a mistake is one red line, as Zorora answers its own: `Error: Usage: ml-list-challengers ...`
HELP = "ml-validate-e2e --help lists the flags"
HELP_VERDICT = ""  # the help is all there is to show
VERDICT_STYLES = {"✓": "bold green", "✗": "bold red", "⚠": "bold yellow", "ℹ": "bold blue"}
STARTING_SANDBOX = "starting a local sandbox (ONA API + S3 on loopback) ..."
MISUSES = (  # (the flags clash, what to say); config/flags.clashes says the rest
    (
        lambda o: o.sweep and (o.sandbox or o.preflight_only),
        "--sweep cleans your deployment's bucket; it does not combine with --sandbox or --preflight-only",
    ),
    (
        lambda o: o.seed_customers and not o.sandbox,  # --for against a real target reads a real customer
        "--seed-customer seeds the local sandbox; use it with --sandbox",
    ),
    (lambda o: o.fault and not o.sandbox, "--fault makes the local sandbox misbehave; use it with --sandbox"),
    (lambda o: clashes(o) is not None, clashes),
)


class Returned(str):
    """What the command gives the host: an empty string that prints as nothing. The host prints a command's
    string with `console.print` (this renders nothing: no line of its own) and then as Markdown between two
    blank lines; the execution's last line is left open (`LastLineOpen`), so the host's first blank line ends
    it and one blank line follows, as after Zorora's own commands."""

    def __rich__(self):
        return _Nothing()


class _Nothing:
    def __rich_console__(self, console, options):
        return iter(())


RETURNED = Returned("")


def usage_error(message: str) -> str:
    """The one red line of a usage mistake: what is wrong, and where the flags are."""
    return f"{ERROR}{message}; {HELP}"


def settings_error(message) -> str:
    return f"{ERROR}{message}"


def _installed(name):
    """Whether a package can be imported, without importing it (finding it is cheap)."""
    from importlib.util import find_spec

    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class SessionRun:
    """One execution of the command: parse, resolve, confirm, validate, verdict."""

    def __init__(self, command, console, held=None):
        self.command = command
        self.console = console
        self.held = held  # console/last_line.LastLineOpen: off while a run runs (its live line, its questions)
        self.stage = "parse"  # parse -> confirm -> run (or sandbox)
        self.settings = None
        self.made_clients = []
        self.result = None  # the engine's RunResult, as soon as the run (cleanup included) is over
        self.verdict_shown = False  # the last thing printed already says how it ended (the report's verdict, ...)
        self.saved_no_color = None  # the REPL console's no_color, while --no-color is in force
        self.debug = False

    # -- output helpers (outside text only ever goes in as rich Text, never as markup) ----------
    def say(self, text, style=""):
        """A line on the session's console: wrapped between words at its width, never cut (console/lines.py)."""
        from rich.text import Text

        from ..console.lines import words

        for line in str(text).split("\n"):
            words(self.console, Text(line, style=style), indent=2)

    def hold_last_line(self, on):
        if self.held is not None:
            self.held.hold(on)

    @staticmethod
    def safe(text):
        """One line (the verdict is printed as Text, never as markup: the host gets RETURNED)."""
        return " ".join(str(text).split())

    # -- the flow -------------------------------------------------------------------------------
    def execute(self, args):
        width = getattr(self.console, "width", 80) or 80
        parser = session_parser(self.say, prog=self.command.command_name, width=width)
        try:
            options = parser.parse_args(args)
            for clash, message in MISUSES:  # what argparse cannot say: flags that only go with others
                if clash(options):
                    raise UsageError(message(options) if callable(message) else message)
        except HelpShown:
            return HELP_VERDICT
        except UsageError as exc:  # one red line, as Zorora's own: no usage block, no verdict after it
            return usage_error(str(exc))
        from ..config.checks import SettingsError
        from ..config.flags import faults_from
        from ..config.readiness_target import seed_specs

        try:  # before anything starts: a sandbox with a fault that does not exist is never started
            faults_from(options.fault)
            seed_specs(options.seed_customers)
        except SettingsError as exc:
            return settings_error(exc)

        if options.no_color and self.saved_no_color is None:  # this run only; close() puts it back
            self.saved_no_color = bool(getattr(self.console, "no_color", False))
            self.console.no_color = True

        if options.sandbox and not options.sweep and _installed("moto"):  # at once: a fresh session imports
            self.say(STARTING_SANDBOX, "dim")  # the sandbox (moto) first
        if options.history:  # the run history, nothing else
            from ..history.view import show

            show(self.console, limit=20)
            return ""

        presenter = self.presenter(options)  # --walkthrough / --show-state
        if presenter is False:  # one line: the refusal is the verdict
            from ..report.walkthrough import REFUSED

            return settings_error(REFUSED)
        if not options.sweep:  # S3's models load (once per session) while the run gets ready
            from ..s3.store import prewarm

            prewarm()
        flags = RunFlags.of(options)
        self.debug = flags.debug
        try:
            if options.sweep:
                return self.run_sweep(options)
            if flags.sandbox:
                return self.run_sandbox(flags, presenter)
            return self.run_target(flags, presenter)
        except SettingsError as exc:  # each message names the setting, and says to restart Zorora if it must
            return settings_error(exc)

    @property
    def repl_client(self):
        return self.command.repl_ona_client()

    def presenter(self, options):
        """walkthrough.Options for --walkthrough/--show-state (None: neither; False: refused, no terminal)."""
        from ..console.terminal import can_prompt
        from ..report.walkthrough import PromptPause, options_from

        if options.walkthrough and not can_prompt():
            return False
        return options_from(options, PromptPause())

    def run_target(self, flags, presenter=None):
        from ..config.settings import resolve
        from ..run.options import RunOptions
        from ..run.validate import may_start, validate

        client = self.repl_client
        settings = self.settings = resolve(flags, os.environ, target=repl_target(client), face=REPL)
        for note in settings.notes:  # what the settings changed of what was given (a token's scheme dropped)
            self.say(f"ml-validate-e2e: {note}", "yellow")
        if client is None:
            client = self.new_client(settings, timeout=30, max_retries=3)  # as register_ona_commands does
        self.stage = "confirm"
        start, ask = may_start(settings, self.say)  # refuses without a terminal unless --yes; asks after 0
        if not start:
            self.verdict_shown = True  # it said why it did not ask
            return "✗ ml-validate-e2e cancelled: nothing was written."
        self.stage = "run"
        self.hold_last_line(False)  # until the run is over (_KeepResult)
        result = validate(
            settings,
            console=self.console,
            http_client=client,
            options=RunOptions(
                observers=[_KeepResult(self)],
                debug=self.debug,
                presenter=presenter,
                print_verdict=False,  # last, by show_verdict: after the notices
                ask=ask,
            ),
        )
        return self.verdict(result)

    def run_sandbox(self, flags, presenter=None):
        try:
            import moto  # noqa: F401  (the sandbox's S3)
        except ImportError:
            self.say("ml-validate-e2e --sandbox needs moto: pip install 'zorora-e2e-plugin[sandbox]'", "red")
            return "✗ ml-validate-e2e not run: the sandbox is not installed (details above)."
        from ..run.in_sandbox import validate_in_sandbox

        template = self.repl_client

        def factory(settings):
            return self.new_client(settings, timeout=settings.timeout, max_retries=getattr(template, "max_retries", 3))

        self.stage = "sandbox"
        self.hold_last_line(False)  # until the run is over (_KeepResult)
        result = validate_in_sandbox(
            flags,
            console=self.console,
            env=os.environ,
            face=REPL,
            http_client_factory=factory,
            observers=[_KeepResult(self)],
            presenter=presenter,
        )
        return self.verdict(result)

    def run_sweep(self, options):
        """`--sweep`: the same as `zorora-e2e sweep`, for data left by runs that were killed."""
        from ..run.sweep import run_sweep

        self.stage = "sweep"
        _code, summary = run_sweep(SweepFlags.of(options), os.environ, console=lambda: self.console, face=REPL)
        self.verdict_shown = True  # its last line says the same as the summary
        return self.safe(summary)

    def new_client(self, settings, *, timeout, max_retries):
        """A ZororaHTTPClient of the host's class, built the way Zorora builds one."""
        try:
            from zorora.http_client import ZororaHTTPClient
        except ImportError:
            return None
        client = ZororaHTTPClient(
            base_url=settings.base_url,
            auth_token=settings.token,
            use_iam=settings.use_iam,
            timeout=timeout,
            max_retries=max_retries,
        )
        self.made_clients.append(client)
        return client

    def verdict(self, result):
        from ..report.verdict_line import verdict_line

        return self.safe(verdict_line(result))

    def show_verdict(self, line):
        """The execution's last line, printed unless what was printed last already says it."""
        self.hold_last_line(True)
        if not line or self.verdict_shown:
            return
        from ..report.console import verdict_text

        line = " ".join(str(line).split())
        verdict_text(self.console, line, "red" if line.startswith(ERROR) else VERDICT_STYLES.get(line[:1], "bold"))

    # -- endings that are not a verdict from the engine ------------------------------------------
    def interrupted(self):
        if self.result is not None:  # a Ctrl-C after the run had cleaned up: its verdict stands (and is shown)
            return self.verdict(self.result)
        self.verdict_shown = False
        if self.stage == "sweep":
            self.say(
                "Interrupted: the sweep may have deleted part of what it listed; run it again to finish.", "yellow"
            )
            return "⚠ Sweep interrupted; run ml-validate-e2e --sweep again to finish."
        if self.stage == "sandbox":
            self.say("Interrupted: the sandbox was stopped and its data discarded.", "yellow")
            return "⚠ ml-validate-e2e --sandbox interrupted; the sandbox was stopped."
        if self.stage == "run":
            self.leftover_hint("Interrupted before the run could finish its cleanup", "bold yellow")
            return "⚠ E2E validation interrupted; its cleanup may not have finished (see above)."
        self.say("Interrupted: nothing was written.", "yellow")
        return "⚠ ml-validate-e2e interrupted before the run: nothing was written."

    def crashed(self, exc):
        import logging

        self.verdict_shown = False
        logging.getLogger("zorora_e2e_plugin").exception("ml-validate-e2e failed")
        self.say(f"ml-validate-e2e failed unexpectedly: {type(exc).__name__}: {exc}", "bold red")
        if self.stage == "sandbox":
            return "✗ ml-validate-e2e --sandbox crashed (details above); the sandbox was stopped."
        if self.stage == "run":
            self.leftover_hint("The run did not finish", "yellow")
            return "✗ ml-validate-e2e crashed during the run (details above); check for leftover test data."
        return "✗ ml-validate-e2e crashed before the run (details above): nothing was written."

    def leftover_hint(self, what, style):
        """What may be left, and the command that removes it on a line of its own (to copy)."""
        s = self.settings
        assert s is not None  # asked once the run had its settings
        from ..console.lines import command
        from ..plan import sweep_command_for

        self.say(
            f"{what}: test data for customer {s.customer_id} may be left in s3://{s.bucket}. Remove it with:", style
        )
        command(self.console, sweep_command_for(s), style=style)

    def close(self):
        if self.saved_no_color is not None:
            self.console.no_color = self.saved_no_color
            self.saved_no_color = None
        for client in self.made_clients:
            try:
                client.session.close()
            except Exception:
                pass
        self.made_clients.clear()


def repl_target(client) -> Target:
    """Where the REPL's own ONA client points (as Zorora read it at start-up); no client: the flags decide."""
    if client is None:
        return NO_TARGET
    return Target(
        base_url=client.base_url,
        token=client.auth_token or "",
        use_iam=bool(client.use_iam),
        token_setting="ONA_API_TOKEN (as Zorora read it at start-up)",
        base_url_setting="ONA_API_BASE_URL (as Zorora read it at start-up)",
    )


class _KeepResult(Reporter):
    """Catches the run's result when the engine reports it (after the cleanup), so that a Ctrl-C landing
    between the end of the run and the verdict being returned does not claim the cleanup may be unfinished."""

    def __init__(self, run):
        self.run = run

    def run_finished(self, result):  # after the console view's table; the verdict is show_verdict's, last
        self.run.result = result
        self.run.hold_last_line(True)  # the run is over: what is left are its last lines
