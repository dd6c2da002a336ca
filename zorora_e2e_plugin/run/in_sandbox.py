"""A run against an in-process sandbox (`zorora-e2e demo`, `ml-validate-e2e --sandbox`): start the sandbox
the flags ask for (faults, a versioned bucket, seeded customers), point the run at it, validate, stop it.

    sandbox_target(sandbox)                 where a run against it goes (face.Target: URL, token, S3, keys)
    RequestFeed                             the sandbox's own request log on the run's console (--log-requests)
    validate_in_sandbox(flags, console=...) the whole of it
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Callable

from ..config.faces import CLI, Face, Target
from ..config.flags import RunFlags, faults_from
from ..config.settings import DEFAULT_BUCKET
from ..core.outcomes import RunResult
from .options import RunOptions

if TYPE_CHECKING:
    from rich.console import Console

    from ..client import ZororaHTTP
    from ..config.settings import Settings
    from ..core.steps import Reporter
    from ..report.walkthrough import Options
    from ..sandbox import Sandbox
    from ..sandbox.record import RequestRecord

# what a sandbox run takes from the environment: nothing about the target (that is the sandbox)
KEPT_ENV = (
    "TEST_CUSTOMER_ID",
    "TEST_ACTOR",
    "NO_COLOR",
    "ZORORA_E2E_TIMEOUT",
    "ZORORA_E2E_DEADLINE",
    "ZORORA_ACTOR",
    "GITHUB_STEP_SUMMARY",  # ZORORA_ACTOR: judged as the X-Actor value it is
    "ZORORA_E2E_METRICS_NAMESPACE",
)


def sandbox_target(sandbox: Sandbox) -> Target:
    """Where a run against a started sandbox goes; the user's customer/actor/phase flags still count."""
    return Target(
        base_url=sandbox.api_url,
        token=sandbox.token,
        use_iam=False,
        bucket=sandbox.bucket,
        region=sandbox.region,
        s3_endpoint_url=sandbox.s3_endpoint_url,
        aws_access_key_id=sandbox.access_key_id,
        aws_secret_access_key=sandbox.secret_access_key,
        sandbox=True,
    )


class RequestFeed:
    """An in-process sandbox's request log on its way to the run's console (`--log-requests`): the sandbox's
    threads call it with each RequestRecord; while a run is attached, its line (requestlog.py, then the
    run's redactor: never the token) is printed above the live line."""

    def __init__(self, token: str = ""):
        from ..sandbox.requestlog import RequestLogFormat

        self.format = RequestLogFormat([token])
        self._sink: Callable[[str], None] | None = None
        self._redact: Callable[[str], str] = lambda text: text

    def attach(self, sink: Callable[[str], None], redact: Callable[[str], str]) -> None:
        self._redact, self._sink = redact, sink

    def detach(self) -> None:
        self._sink = None

    def __call__(self, record: RequestRecord) -> None:
        sink = self._sink
        if sink is not None:
            for line in self.format.lines(record):
                sink("    " + self._redact(line))


def validate_in_sandbox(
    flags: RunFlags,
    *,
    console: Console,
    env: Mapping[str, str] | None = None,
    face: Face = CLI,
    http_client_factory: Callable[[Settings], ZororaHTTP] | None = None,
    observers: Sequence[Reporter] = (),
    presenter: Options | None = None,
) -> RunResult:
    """Start a sandbox in-process (flags.fault, flags.versioned, flags.seed_customers), run against it, stop it.
    `env` supplies only non-target settings (customer id, actor, timeouts); the target is always the sandbox.
    flags.log_requests: the sandbox's own line per API request, interleaved with the report. `face`: whose
    words the hints are in; `http_client_factory(settings)`: the face's own API client (the REPL's class)."""
    from ..config.readiness_target import seed_specs
    from ..config.settings import resolve
    from ..sandbox import Sandbox
    from .validate import validate

    keep = {k: v for k, v in (env or {}).items() if k in KEPT_ENV}
    faults = faults_from(flags.fault)
    seeds = seed_specs(flags.seed_customers)  # --seed-customer: checked before the sandbox starts
    from ..s3.store import s3_models

    sandbox = Sandbox(faults=faults, bucket=flags.bucket or DEFAULT_BUCKET, versioned=flags.versioned)
    with sandbox.start(s3_models=s3_models()) as sandbox:  # S3's botocore models read once for both sides
        settings = resolve(flags, keep, target=sandbox_target(sandbox), face=face)
        if settings.metrics is not None:  # --metrics cloudwatch goes to the sandbox's own CloudWatch
            settings = dataclasses.replace(
                settings, metrics=dataclasses.replace(settings.metrics, endpoint_url=sandbox.cloudwatch_endpoint_url)
            )
        for spec in seeds:
            sandbox.seed_customer(spec)
        feed = None
        if flags.log_requests:
            feed = RequestFeed(sandbox.token)
            sandbox.request_listeners.append(feed)
        http_client = http_client_factory(settings) if http_client_factory else None
        return validate(
            settings,
            console=console,
            http_client=http_client,
            options=RunOptions(
                observers=observers,
                presenter=presenter,
                request_feed=feed,
                debug=flags.debug,
                sandbox_goes=True,
                print_verdict=not face.in_zorora,
            ),
        )  # the REPL prints it last itself


__all__ = ["KEPT_ENV", "RequestFeed", "sandbox_target", "validate_in_sandbox"]
