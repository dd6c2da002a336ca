"""The run flags, defined once for both faces: `zorora-e2e run | demo` and `ml-validate-e2e`.

    RunFlags                                       every run flag, typed, with its default
    add_run_flags(parser, face, target=...)        the flags, with their help
    RunFlags.of(namespace)                         the parsed flags, as `settings.resolve(flags, env)` reads them
    SweepFlags, add_sweep_flags                    the sweep's (`zorora-e2e sweep`, `ml-validate-e2e --sweep`)

Adding a flag: a field of RunFlags (its name the argparse dest) and its add_argument in add_run_flags.
A flag not given is None (or False): `resolve` then falls back to the environment, then to the defaults.
The REPL face (`ml-validate-e2e` inside Zorora) keeps only what makes sense there: the target is the REPL's
own ONA client, so there is no --base-url/--token/--token-from-ssm/--region/--s3-endpoint-url/--client, and
--sandbox (with --fault) stands in for `demo`.
Importing this module imports nothing heavy (argparse comes with the caller's parser).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, NoReturn, TypeVar

from ..sandbox.faults import add_fault_flag
from .checks import SettingsError
from .faces import CLI, REPL, Face
from .settings import DEFAULT_ACTOR, DEFAULT_BUCKET, DEFAULT_REGION, DEFAULT_TOKEN_PARAMETER

if TYPE_CHECKING:
    import argparse

    from _typeshed import DataclassInstance, SupportsWrite

F = TypeVar("F", bound="DataclassInstance")

REPORT_PATHS = ("json_path", "junit_path", "html_path", "har_path", "summary_md_path")  # ~ expanded


def _of(cls: type[F], namespace: argparse.Namespace) -> F:
    """A flags record from an argparse namespace: each field whose dest the parser has (None: not given)."""
    given = vars(namespace)
    return cls(**{f.name: given[f.name] for f in dataclasses.fields(cls) if given.get(f.name) is not None})


@dataclasses.dataclass(frozen=True)
class RunFlags:
    """Every run flag of both faces; None (or False, or empty): not given."""

    preflight_only: bool = False  # the same as phases [0]
    phases: Sequence[int] | None = None
    readiness_for: Sequence[str] | None = None  # --for CUSTOMER [CHALLENGER_ID] (readiness_target.py)
    keep_data: bool = False
    customer_id: str | None = None
    actor: str | None = None
    timeout: str | float | None = None
    deadline: str | float | None = None
    json_path: str | None = None
    junit_path: str | None = None
    html_path: str | None = None
    har_path: str | None = None
    summary_md_path: str | None = None
    log_requests: bool = False  # a sandbox's: its own log of the requests it served; otherwise the run's
    no_color: bool = False
    debug: bool = False
    walkthrough: bool = False
    show_state: bool = False
    base_url: str | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    token_from_ssm: str | None = None
    region: str | None = None
    bucket: str | None = None
    s3_endpoint_url: str | None = None
    client: str | None = None
    assume_yes: bool = False
    sandbox: bool = False  # ml-validate-e2e --sandbox (zorora-e2e demo is one by itself)
    fault: tuple[str, ...] = ()  # as given: faults_from parses them
    seed_customers: tuple[str, ...] = ()
    versioned: bool = False  # the sandbox's bucket keeps versions
    metrics: tuple[str, ...] = ()  # --metrics cloudwatch|emf (config/metrics.py)
    metrics_namespace: str | None = None

    def __post_init__(self) -> None:
        for key in ("fault", "seed_customers", "metrics"):  # as argparse's lists give them: tuples
            object.__setattr__(self, key, tuple(getattr(self, key) or ()))
        if self.preflight_only or (self.readiness_for and not self.phases):  # --for is a preflight's question
            object.__setattr__(self, "phases", [0])
            object.__setattr__(self, "preflight_only", True)
        for key in REPORT_PATHS:
            if getattr(self, key):
                object.__setattr__(self, key, os.path.expanduser(getattr(self, key)))

    @classmethod
    def of(cls, namespace: argparse.Namespace) -> RunFlags:
        return _of(cls, namespace)


def add_run_flags(parser: argparse.ArgumentParser, face: Face = CLI, *, target: bool = True) -> None:
    """The run flags on `parser`: what to run, output, and (with `target`) where. The REPL `face`: the subset
    the REPL command offers, plus its --sandbox."""
    repl = face.in_zorora
    g = parser.add_argument_group("what to run")
    g.add_argument(
        "--preflight-only",
        action="store_true",
        help="phase 0 only: reachability, token, Lambda logic, bucket (writes one probe object)"
        + ("" if repl else "; same as --phase 0"),
    )
    if repl:
        g.add_argument(
            "--sandbox",
            action="store_true",
            help="start a local sandbox (ONA API + S3 on loopback) and validate it: a demo, no AWS",
        )
        add_fault_flag(g, condition="with --sandbox: ")  # as `zorora-e2e demo --fault`
    g.add_argument(
        "--for",
        dest="readiness_for",
        nargs="+",
        metavar=("CUSTOMER", "CHALLENGER_ID"),
        help="after the preflight (--for implies --preflight-only), check read-only whether `ml-promote "
        "CUSTOMER CHALLENGER_ID` would pass its gates now (without CHALLENGER_ID: the newest "
        "evaluated challenger); nothing is written or promoted for CUSTOMER"
        + ("" if repl else ". Exit 0 ready, 4 would be refused, 5 not answerable or nothing to promote"),
    )
    g.add_argument(
        "--phase",
        dest="phases",
        type=int,
        action="append",
        metavar="N",
        help="run phase N (repeatable) plus what it needs: 0 as the gate, 1 for 2-4, 5 to clean up",
    )
    g.add_argument("--keep-data", action="store_true", help="skip cleanup and print the S3 prefixes left")
    g.add_argument(
        "--customer-id",
        metavar="ID",
        help="test customer id; must start with zorora-e2e-test- (env TEST_CUSTOMER_ID; default: a fresh one per run)",
    )
    g.add_argument(
        "--actor", metavar="NAME", help=f"actor sent with promote/rollback (env TEST_ACTOR; default {DEFAULT_ACTOR})"
    )
    g.add_argument(
        "--timeout",
        type=str,
        metavar="SECONDS",
        help="per-request timeout in seconds (env ZORORA_E2E_TIMEOUT; default 10)",
    )
    g.add_argument(
        "--deadline",
        type=str,
        metavar="SECONDS",
        help="overall deadline in seconds (env ZORORA_E2E_DEADLINE; default 300)",
    )
    o = parser.add_argument_group("output")
    o.add_argument("--json", dest="json_path", metavar="PATH", help="also write the results as JSON")
    o.add_argument("--junit", dest="junit_path", metavar="PATH", help="also write the results as JUnit XML")
    o.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR is honoured too)")
    o.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of an unexpected error inside the validator (--json always has it), "
        "and a curl line that sends each failing step's API request again",
    )
    p = parser.add_argument_group("presenting a demo")
    p.add_argument(
        "--walkthrough",
        action="store_true",
        help="before each phase say what it proves and which requests it sends, then wait for Enter "
        "(q stops; the cleanup still runs); shows the state views too; needs a terminal",
    )
    p.add_argument(
        "--show-state",
        action="store_true",
        help="show what is in S3 after phases 1, 3.1, 3.3, 4 and 5 (the test world, registry "
        "before → after, archive, audit events), without pausing",
    )
    if repl or not target:  # --for against a demo's sandbox: a customer to check (sandbox/seeding.py)
        p.add_argument(
            "--seed-customer",
            dest="seed_customers",
            action="append",
            default=None,
            metavar="NAME[:VARIANT]",
            help="seed a customer in the sandbox for --for (repeatable); "
            "VARIANT: eligible (default), stale, regressing, few-windows" + (" (with --sandbox)" if repl else ""),
        )
    o.add_argument(
        "--html",
        dest="html_path",
        metavar="PATH",
        help="also write one self-contained HTML report: steps, a timeline of every request, the state "
        "in S3, recent runs (opens offline; attach it to a ticket)",
    )
    o.add_argument(
        "--har",
        dest="har_path",
        metavar="PATH",
        help="also write every request the run sent (API and S3) as HAR 1.2, for a browser's developer "
        "tools (the token and AWS signatures redacted)",
    )
    o.add_argument(
        "--summary-md",
        dest="summary_md_path",
        metavar="PATH",
        help="append a short Markdown summary (verdict, phases, failing steps with their fix); "
        "GITHUB_STEP_SUMMARY is used when set",
    )
    served, own = "the sandbox's own log of the API requests it served", "the validator's own API and S3 requests"
    logged = f"with --sandbox: {served}; otherwise {own}" if repl else own if target else served
    o.add_argument(
        "--log-requests",
        action="store_true",
        help="print one line per request beside the report: time, method, status, ms, path, actor "
        "(never the token); " + logged,
    )
    o.add_argument(
        "--metrics",
        action="append",
        metavar="SINK",
        help="after the run, publish its metrics (Passed, Duration, per phase and route, failed steps, "
        "retries, cold start): cloudwatch (one PutMetricData batch, the run's region, boto3's "
        "endpoint settings) or emf (JSON lines on stdout, for a Lambda's log); repeatable. A "
        "failure to publish is a warning: the verdict stands",
    )
    o.add_argument(
        "--metrics-namespace",
        metavar="NAME",
        help="CloudWatch namespace for --metrics (env ZORORA_E2E_METRICS_NAMESPACE; default ZororaE2E)",
    )
    if not (target or repl):
        return
    t = parser.add_argument_group("target (flags > environment > defaults)")
    if not repl:
        t.add_argument("--base-url", help="ONA API base URL ending in /prod/api/v1 (env ONA_API_BASE_URL)")
        t.add_argument(
            "--token",
            help="bearer token (env ONA_API_TOKEN); '-' reads it from stdin. Typed here it is "
            "visible in ps and your shell's history",
        )
        t.add_argument(
            "--token-from-ssm",
            nargs="?",
            const=DEFAULT_TOKEN_PARAMETER,
            metavar="NAME",
            help=f"read the token from this SSM SecureString (default {DEFAULT_TOKEN_PARAMETER})",
        )
        t.add_argument("--region", help=f"AWS region (env AWS_REGION; default {DEFAULT_REGION})")
    t.add_argument(
        "--bucket", metavar="NAME", help=f"the Lambda's OUTPUT_BUCKET (env OUTPUT_BUCKET; default {DEFAULT_BUCKET})"
    )
    if not repl:
        t.add_argument("--s3-endpoint-url", help="S3 endpoint (env AWS_ENDPOINT_URL_S3; default AWS)")
        t.add_argument(
            "--client",
            choices=("auto", "zorora", "direct"),
            help="call the API through Zorora's command classes or direct HTTP (default auto: zorora when importable)",
        )
    t.add_argument(
        "--yes",
        "-y",
        dest="assume_yes",
        action="store_true",
        help="do not ask before writing test data to a non-local deployment"
        + (" (or, with --sweep, before deleting)" if repl else "")
        + "; without a terminal to ask on, such a run refuses unless --yes",
    )


@dataclasses.dataclass(frozen=True)
class SweepFlags:
    """What `sweep.run_sweep` reads: where (None: from the environment), which data, and whether to delete
    without asking."""

    bucket: str | None = None
    region: str | None = None
    s3_endpoint_url: str | None = None
    older_than: str = "1h"
    customer_id: str | None = None
    dry_run: bool = False
    assume_yes: bool = False

    @classmethod
    def of(cls, namespace: argparse.Namespace) -> SweepFlags:
        return _of(cls, namespace)


def add_sweep_flags(parser: argparse._ActionsContainer, face: Face = CLI) -> None:  # a parser or a group
    """--older-than and --dry-run (`zorora-e2e sweep`; for the REPL `face`, its `--sweep`)."""
    also = "with --sweep: " if face.in_zorora else ""
    parser.add_argument(
        "--older-than",
        default="1h",
        metavar="AGE",
        help=f"{also}only data older than this: 30s, 15m, 1h, 2d (default 1h; a run takes seconds)",
    )
    parser.add_argument("--dry-run", action="store_true", help=f"{also}list, delete nothing")


def clashes(namespace: argparse.Namespace) -> str | None:
    """What argparse cannot say about the run flags: flags that do not go together (None: none). A usage error
    in both faces, said before anything starts."""
    phases = sorted(set(getattr(namespace, "phases", None) or ()) - {0})
    others = " ".join(f"--phase {p}" for p in phases)
    if phases and getattr(namespace, "preflight_only", False):
        return f"--preflight-only runs phase 0 alone: it does not combine with {others} (drop one of them)"
    if phases and getattr(namespace, "readiness_for", None):
        return (
            f"--for checks a real customer read-only after the preflight: it does not combine with {others} "
            "(a full run writes, promotes and deletes, and never for a real customer)"
        )
    return None


def unknown_arguments(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """argparse's "unrecognized arguments" in a person's words: the first one, and the flag closest to it."""
    import difflib

    word = next((e for e in extras if e.startswith("-")), extras[0] if extras else "")
    name = word.split("=", 1)[0]
    known = sorted({o for action in parser._actions for o in action.option_strings if o.startswith("--")})
    close = difflib.get_close_matches(name if name.startswith("-") else f"--{name}", known, n=1, cutoff=0.6)
    what = f"unknown flag {name}" if name.startswith("-") else f"unexpected argument {name!r}"
    return what + (f" (did you mean {close[0]}?)" if close and close[0] != name else "")


def help_formatter(base: type[argparse.HelpFormatter]) -> type[argparse.HelpFormatter]:
    """`base` (an argparse HelpFormatter class) that shows --for as `--for CUSTOMER [CHALLENGER_ID]`: it takes
    one or two values, which argparse's nargs cannot say."""

    class Formatter(base):  # type: ignore[valid-type, misc]  # a base class given at run time
        def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
            if action.dest == "readiness_for":
                return "CUSTOMER [CHALLENGER_ID]"
            return super()._format_args(action, default_metavar)

    return Formatter


def faults_from(names: Sequence[str]) -> list:
    """`--fault NAME ...` parsed (sandbox/faults.py, the one place faults are defined): a bad name is a
    SettingsError naming --fault and listing the valid faults."""
    from ..sandbox.faults import parse_faults

    try:
        return parse_faults(names)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


# ----------------------------------------------------------------------------------- the REPL's parser


class UsageError(Exception):
    """The session's flags are wrong; the message is argparse's."""


class HelpShown(Exception):
    """--help was printed; nothing else is to be done."""


SESSION_DESCRIPTION = (
    "Prove the Zorora REPL -> ONA globalTrainingService -> S3 chain works end to end: preflight, test data, "
    "read-only commands, promote and rollback through Zorora's own ml-* command classes, error handling, cleanup. "
    "Uses the REPL's ONA client (ONA_API_BASE_URL, ONA_API_TOKEN, ONA_USE_IAM as read when Zorora started)."
)
SESSION_EXAMPLES = (
    ("ml-validate-e2e --sandbox", "demo against a local sandbox (no AWS)"),
    ("ml-validate-e2e --sandbox --fault stage-prefix", "a broken deployment, diagnosed"),
    ("ml-validate-e2e --preflight-only", "check the deployment before a promotion"),
    ("ml-validate-e2e --for acme", "... and whether ml-promote acme would pass now"),
    ("ml-validate-e2e --yes --json e2e.json", ""),
    ("ml-validate-e2e --sweep --dry-run", "list test data left by killed runs"),
)


def examples(rows: Sequence[tuple[str, str]], width: int) -> str:
    """`examples:` and one row per example, the command and what it does side by side where they fit, else the
    words under the command: wrapped between words at `width`, a command never broken."""
    import textwrap

    column = max(len(command) for command, _ in rows) + 4
    out = ["examples:"]
    for command, what in rows:
        if not what:
            out.append(f"  {command}")
        elif column + len(what) <= width:
            out.append(f"  {command:<{column - 2}}{what}")
        else:
            out.append(f"  {command}")
            out += textwrap.wrap(
                what,
                width,
                initial_indent=" " * 6,
                subsequent_indent=" " * 6,
                break_on_hyphens=False,
                break_long_words=False,
            )
    return "\n".join(out)


def session_parser(say: Callable[[str], Any], *, prog: str, width: int = 80) -> argparse.ArgumentParser:
    """The REPL command's parser: the session's run flags plus --sweep and --history. It prints through
    `say(text)` (the REPL's console) and raises HelpShown / UsageError instead of exiting the process. Its help
    is wrapped between words at `width` (the console's), introduction, options and examples alike."""
    import argparse
    import textwrap

    class Parser(argparse.ArgumentParser):
        def _print_message(self, message: str | None, file: SupportsWrite[str] | None = None) -> None:
            if message:
                say(message.rstrip("\n"))

        def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
            if status == 0:  # --help, after printing
                raise HelpShown()
            raise UsageError((message or "invalid arguments").strip())

        def error(self, message: str) -> NoReturn:
            unknown = "unrecognized arguments: "
            if message.startswith(unknown):
                message = unknown_arguments(self, message[len(unknown) :].split())
            raise UsageError(message)

    width = max(40, width - 2)

    base = help_formatter(argparse.RawDescriptionHelpFormatter)  # --for's metavar

    class Formatter(base):  # type: ignore[valid-type, misc]  # wrapped here: at the width; base: see above
        def __init__(self, prog: str) -> None:
            super().__init__(prog, width=width, max_help_position=26)

        def _split_lines(self, text: str, width: int) -> list[str]:
            return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    parser = Parser(
        prog=prog,
        add_help=True,
        allow_abbrev=False,
        formatter_class=Formatter,
        description=textwrap.fill(SESSION_DESCRIPTION, width, break_on_hyphens=False),
        epilog=examples(SESSION_EXAMPLES, width),
    )
    add_run_flags(parser, REPL)
    other = parser.add_argument_group("instead of validating")
    other.add_argument(
        "--sweep",
        action="store_true",
        help="find zorora-e2e-test-* data left by killed runs and delete it after confirmation "
        "(nothing else is ever touched)",
    )
    add_sweep_flags(other, REPL)
    other.add_argument(
        "--history",
        action="store_true",
        help="recent runs per target with verdicts, durations, cold starts and the last passing "
        "preflight (from ~/.zorora/e2e-history.jsonl)",
    )
    return parser


__all__ = [
    "HelpShown",
    "RunFlags",
    "SweepFlags",
    "UsageError",
    "add_run_flags",
    "add_sweep_flags",
    "clashes",
    "examples",
    "faults_from",
    "help_formatter",
    "session_parser",
    "unknown_arguments",
]
