"""`zorora-e2e`: the validation outside the REPL (CI, cron, demos).

    zorora-e2e demo      run the whole plan against a local sandbox (no AWS needed)
    zorora-e2e run       run it against the deployment your settings point at
    zorora-e2e sandbox   serve the sandbox for your own experiments
    zorora-e2e history   recent runs per target (verdicts, durations, cold starts)
    zorora-e2e canary-template   the CloudFormation template of the scheduled canary (docs/canary.md)

Exit codes: 0 passed (with --for: ready), 1 failed, 2 usage/config error, 3 preflight gate failed, 4 (--for)
ml-promote would be refused, 5 (--for) not answerable, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM), 129 hung up (SIGHUP): a signal ends a run after its cleanup, reports written.

The run flags are defined in config/flags.py (shared with `ml-validate-e2e`); before a run writes test data to a
non-local target it asks, and without a terminal it refuses unless --yes (run/validate.may_write, the rule both
faces follow; a refused or declined run exits 1, nothing written).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from .config.checks import SettingsError
from .config.flags import (
    RunFlags,
    SweepFlags,
    add_run_flags,
    add_sweep_flags,
    clashes,
    faults_from,
    help_formatter,
    unknown_arguments,
)
from .config.settings import DEFAULT_BUCKET, DEFAULT_REGION
from .console.terminal import stdout_is_terminal
from .core.outcomes import ExitCode
from .sandbox.faults import add_fault_flag, faults_epilog

EXIT_USAGE = ExitCode.CONFIG_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zorora-e2e",
        description=__doc__.split("\n\n")[0],
        epilog="Exit codes: 0 passed, 1 failed, 2 usage/config error, "
        "3 preflight gate failed, 4 (--for) ml-promote would be refused, "
        "5 (--for) not answerable, 130 interrupted (Ctrl-C), 143 SIGTERM, "
        "129 SIGHUP.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    formatter = help_formatter(argparse.HelpFormatter)  # --for CUSTOMER [CHALLENGER_ID]
    run = sub.add_parser(
        "run",
        help="validate the deployment your settings point at",
        formatter_class=formatter,
        description="Run the end-to-end validation (phases 0-5) against ONA_API_BASE_URL.",
    )
    add_run_flags(run, target=True)
    demo = sub.add_parser(
        "demo",
        help="validate a local sandbox (no AWS account needed)",
        formatter_class=formatter,
        description="Start the local ONA sandbox in-process, validate it, stop it.",
    )
    add_run_flags(demo, target=False)
    add_fault_flag(demo)
    demo.add_argument(
        "--versioned",
        action="store_true",
        help="the sandbox's bucket keeps object versions (as many production buckets do): the "
        "cleanup must delete the versions and delete markers of the run's keys too",
    )
    sandbox = sub.add_parser(
        "sandbox",
        help="serve the local ONA sandbox (API + S3 on loopback)",
        description="Serve the ONA API and S3 on loopback until Ctrl-C; prints the "
        "environment to point a run (or Zorora) at it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="API port (default 0: a free port)")
    sandbox.add_argument("--token", help="bearer token to require (default: a random one, printed)")
    sandbox.add_argument("--bucket", default=DEFAULT_BUCKET, help=f"bucket name (default {DEFAULT_BUCKET})")
    sandbox.add_argument("--region", default=DEFAULT_REGION, help=f"region (default {DEFAULT_REGION})")
    add_fault_flag(sandbox)
    sandbox.add_argument(
        "--seed-customer",
        action="append",
        default=[],
        metavar="NAME[:VARIANT]",
        help="seed a customer's registry, metrics and audit log, to try `run --preflight-only "
        "--for NAME` on (repeatable); VARIANT: eligible (default), stale, regressing, "
        "few-windows",
    )
    sandbox.add_argument(
        "--env-file",
        metavar="PATH",
        help="also write the export lines to PATH (mode 0600; removed when the sandbox stops): "
        "`. PATH` in another shell points a run or Zorora at the sandbox",
    )
    sandbox.add_argument(
        "--versioned", action="store_true", help="the bucket keeps object versions (as many production buckets do)"
    )
    sandbox.add_argument(
        "--log-requests",
        action="store_true",
        help="print one line per API request: time, method, path, status, ms, actor (never the token)",
    )
    sweep = sub.add_parser(
        "sweep",
        help="find and delete test data that killed runs left behind",
        description="List every zorora-e2e-test-* customer under customer_tailored/, "
        "model_metrics/ and audit_logs/ whose newest object is older than "
        "--older-than, and delete it after confirmation. Nothing else is touched.",
    )
    add_sweep_flags(sweep)
    sweep.add_argument(
        "--customer-id",
        metavar="ID",
        help="only this zorora-e2e-test-* customer (what a run printed when its cleanup could not finish)",
    )
    sweep.add_argument("--yes", "-y", dest="assume_yes", action="store_true", help="do not ask before deleting")
    sweep.add_argument("--bucket", help=f"bucket (env OUTPUT_BUCKET; default {DEFAULT_BUCKET})")
    sweep.add_argument("--region", help=f"region (env AWS_REGION; default {DEFAULT_REGION})")
    sweep.add_argument("--s3-endpoint-url", help="S3 endpoint (env AWS_ENDPOINT_URL_S3)")
    sweep.add_argument("--no-color", action="store_true", help="no colours")
    history = sub.add_parser(
        "history",
        help="recent runs per target: verdicts, durations, cold starts",
        description="Show the runs recorded in ~/.zorora/e2e-history.jsonl (ZORORA_E2E_HISTORY="
        "PATH moves it, =0 turns recording off): per target, a sparkline of "
        "preflight and full-run durations, the last passing preflight's age, "
        "routes whose median latency doubled against the previous week, and "
        "the most recent runs.",
    )
    history.add_argument("--target", metavar="HOST", help="only this target host (as shown, e.g. sandbox)")
    history.add_argument(
        "-n", dest="limit", type=int, default=20, metavar="N", help="runs listed per target (default 20)"
    )
    history.add_argument("--no-color", action="store_true", help="no colours")
    sub.add_parser(
        "canary-template",
        help="print the CloudFormation template that deploys the canary (Lambda, schedule, alarm, role)",
        description="Print a CloudFormation template (YAML) that runs the preflight in AWS Lambda on a "
        "schedule, with an alarm on its Passed metric and a least-privilege role: "
        "zorora-e2e canary-template > canary.yaml (docs/canary.md).",
    )
    return parser


class _Version(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs ~20 ms at every start otherwise)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {_version()}")  # on stdout, as argparse's own version action
        parser.exit()


def _version() -> str:
    """The installed distribution's version (what pip installed), else the package's own."""
    try:
        from importlib.metadata import version

        return version("zorora-e2e-plugin")
    except Exception:
        from .version import __version__

        return __version__


def _console(args):
    from .report.console import make_console

    return make_console(no_color=bool(getattr(args, "no_color", False)) or bool(os.environ.get("NO_COLOR")))


TOKEN_TYPED = (
    "warning: a token typed on the command line (--token) can be read by every user of this machine "
    "(ps, /proc/<pid>/cmdline) and stays in your shell's history; use ONA_API_TOKEN, --token-from-ssm, "
    "or --token - (reads it from stdin)"
)


def _token_given(args) -> None:
    """--token -: the token from stdin (asked for without echo on a terminal); a token typed on the command line
    is said once to leak (as `docker login -p` does)."""
    if args.token == "-":
        from .console.terminal import read_secret

        try:
            args.token = read_secret("ONA API token (not shown): ")
        except ValueError as exc:
            raise SettingsError(
                f"--token - reads the token from stdin, but {exc}: pipe it in (e.g. from "
                "`aws ssm get-parameter ... --output text`), or set ONA_API_TOKEN"
            ) from None
    elif args.token is not None:
        _say_error(f"zorora-e2e: {TOKEN_TYPED}")


def cmd_run(args) -> int:
    from .config.settings import resolve
    from .s3.store import start_client

    _token_given(args)
    settings = resolve(RunFlags.of(args), os.environ)  # a settings error exits before anything heavy is imported
    for note in settings.notes:
        _say_error(f"zorora-e2e: {note}")
    start_client(settings.storage)  # botocore and the S3 client load while the engine is imported
    from .run.options import RunOptions
    from .run.validate import may_start, validate

    console = _console(args)
    presenter = _presenter(args)
    start, ask = may_start(settings, _printer(console))  # refuses without a terminal unless --yes
    if not start:
        return ExitCode.FAILED
    return validate(
        settings, console=console, options=RunOptions(debug=args.debug, presenter=presenter, ask=ask)
    ).exit_code


def _presenter(args):
    """--walkthrough/--show-state as walkthrough.Options; --walkthrough without a terminal is a usage error."""
    from .console.terminal import can_prompt
    from .report.walkthrough import REFUSED, TerminalPause, options_from

    if getattr(args, "walkthrough", False) and not can_prompt():
        raise SettingsError(REFUSED)
    return options_from(args, TerminalPause())


def _printer(console):
    from rich.text import Text

    from .console.lines import words

    def say(text: str, style: str = "") -> None:
        for line in text.split("\n"):
            words(console, Text(line, style=style), indent=2)

    return say


def cmd_demo(args) -> int:
    from .config.readiness_target import seed_specs

    presenter = _presenter(args)  # --walkthrough without a terminal: refused before anything starts
    faults_from(args.fault)  # a fault or a seed that does not exist: refused before the sandbox starts
    seed_specs(args.seed_customers)
    if stdout_is_terminal():  # someone is watching: a line at once, before the sandbox's (moto's) import
        print("starting a local sandbox (ONA API + S3 on loopback) ...", flush=True)
    from .s3.store import prewarm

    prewarm()  # S3's models load while the sandbox starts
    from .run.in_sandbox import validate_in_sandbox

    return validate_in_sandbox(RunFlags.of(args), console=_console(args), env=os.environ, presenter=presenter).exit_code


def cmd_sandbox(args) -> int:
    from .config.checks import check_header_value
    from .sandbox import Listen, Sandbox, SandboxError, serve_forever

    if args.token is not None:
        check_header_value(args.token, "--token", "Authorization", secret=True)
    try:
        sandbox = Sandbox(
            listen=Listen(args.host, args.port),
            token=args.token,
            bucket=args.bucket,
            region=args.region,
            faults=faults_from(args.fault),
            versioned=args.versioned,
        )
        if args.seed_customer:
            _seed(sandbox, args.seed_customer)
        return serve_forever(sandbox, log_requests=args.log_requests, env_file=args.env_file)
    except SandboxError as exc:  # one line with what to change, never a traceback
        raise SettingsError(str(exc)) from None


def _seed(sandbox, specs) -> None:
    """--seed-customer: checked before the sandbox starts, written once it runs, one comment line each."""
    from .sandbox.seeding import parse_seed

    try:
        for spec in specs:
            parse_seed(spec)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    sandbox.start()
    for spec in specs:
        print(f"# {sandbox.seed_customer(spec).describe()}", flush=True)


def cmd_sweep(args) -> int:
    from .run.sweep import run_sweep

    code, _summary = run_sweep(SweepFlags.of(args), os.environ, console=lambda: _console(args))
    return code


def cmd_history(args) -> int:
    from .history.view import show

    show(_console(args), target=args.target, limit=max(1, args.limit))
    return ExitCode.PASSED


def cmd_canary_template(args) -> int:
    from .canary.template import template

    sys.stdout.write(template())
    return ExitCode.PASSED


COMMANDS = {
    "run": cmd_run,
    "demo": cmd_demo,
    "sandbox": cmd_sandbox,
    "sweep": cmd_sweep,
    "history": cmd_history,
    "canary-template": cmd_canary_template,
}


def main(argv: list[str] | None = None) -> int:
    from .console.encoding import fit_streams

    fit_streams()  # a stdout that cannot encode ✓ (PYTHONIOENCODING=ascii, LC_ALL=C) gets ASCII symbols
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if argv[:1] == ["sandbox"] and ("-h" in argv or "--help" in argv):
        commands.choices["sandbox"].epilog = faults_epilog()
    args, extras = parser.parse_known_args(argv)
    command = commands.choices[args.command] if args.command else parser  # argparse took only a known one
    if extras:  # the command's usage and the flag closest to the unknown one (exit 2)
        command.error(unknown_arguments(command, extras))
    clash = clashes(args) if args.command in ("run", "demo") else None
    if clash:
        command.error(clash)
    no_cyclic_gc(args.command)  # a one-shot run: no cyclic collection
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    guard = None
    if args.command in ("run", "demo"):
        # SIGTERM (timeout, CI cancel, docker stop) and SIGHUP (terminal closed) end a run like Ctrl-C: stop
        # starting steps, wait for the requests in flight, clean up, write the reports, exit 128 + signal.
        # The handlers stay until the process exits: a late signal never raises, it only sets the code.
        from .run.signals import SignalGuard

        guard = SignalGuard().install()
    try:
        code = COMMANDS[args.command](args)
    except SettingsError as exc:
        _say_error(f"zorora-e2e: {exc}")
        code = EXIT_USAGE
    except KeyboardInterrupt as exc:
        _say_error("\nInterrupted.")
        code = ExitCode.for_signal(getattr(exc, "signum", 2))
    finally:
        if guard is not None:
            guard.stop_raising()
    if guard is not None and guard.received:
        code = ExitCode.for_signal(guard.received[0])  # its first
    _settle_stdout()
    return code


def _say_error(text: str) -> None:
    try:
        print(text, file=sys.stderr)
    except (OSError, ValueError):
        pass


def _settle_stdout() -> None:
    """A reader that went away (`zorora-e2e demo | head -1`) is not an error of the run: whatever is still
    buffered for it goes to /dev/null, so Python does not complain about the broken pipe at exit."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):  # AttributeError: no stdout at all (fit_streams gives it one)
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass


ONE_SHOT = ("run", "demo")  # commands that end the process when their one run is over


def no_cyclic_gc(command: str) -> None:
    """Python's cyclic garbage collector off for a one-shot command's process (no-op for any other).

    A `zorora-e2e run` (or `demo`) is one short process: it imports botocore, requests and rich, builds one S3
    client, sends 15-60 requests and exits without the interpreter's teardown (`entry`). The collector's passes
    in that time free almost nothing (the imports' objects live as long as the process) yet cost 50-150 ms of
    CPU, a full pass of ~50 ms of it inside botocore's `create_client`, on the thread the run is waiting for.
    The memory it would have freed stays well under a megabyte a run (see docs/performance.md). Long-lived
    processes (the REPL, `zorora-e2e sandbox`) keep Python's default."""
    if command in ONE_SHOT:
        gc.disable()


def entry() -> None:
    """The console script: main(), then exit without tearing the interpreter down. Finalizing botocore's and
    rich's module graph costs ~0.1-0.15 s of CPU at exit and nothing needs it: every report, history line and
    cleanup is finished (synchronously) before main() returns; only the standard streams are still buffered."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can be shown anyway
            pass
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    entry()
