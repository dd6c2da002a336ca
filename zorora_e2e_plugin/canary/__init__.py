"""The canary: the validation as an AWS Lambda function on a schedule (docs/canary.md).

    zorora_e2e_plugin.canary.handler(event, context)

The event says what to run: `{}` the preflight (the default), `{"for": "acme"}` (or `["acme", CHALLENGER_ID]`)
a readiness check after it, `{"full": true}` the full plan (it never asks: a canary has no one to ask).
Settings come from the environment as the CLI reads them (ONA_API_BASE_URL, OUTPUT_BUCKET, AWS_REGION, ...);
the token from SSM by the same rule as `--token-from-ssm` when ZORORA_E2E_TOKEN_FROM_SSM names the parameter,
else ONA_API_TOKEN. The run's deadline is the invocation's remaining time (`context.get_remaining_time_in_millis()`)
less MARGIN_S for its cleanup, reports and metrics. Metrics: ZORORA_E2E_METRICS (default emf: JSON lines on
stdout, which the function's log turns into metrics; cloudwatch: PutMetricData). The run history is off unless
ZORORA_E2E_HISTORY names a file (under /tmp: nothing else is writable in Lambda); nothing is written anywhere
else. No terminal, no prompt, no colour. Returns the `--json` result (plus `exit_code`).

The CloudFormation template that deploys it: template.py (`zorora-e2e canary-template`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

MARGIN_S = 75.0  # kept back from the remaining time: the cleanup's own budget (60 s a wave), reports, metrics
MIN_DEADLINE_S = 10.0  # less than this left for the run itself: the function's timeout is too short
TOKEN_PARAMETER_ENV = "ZORORA_E2E_TOKEN_FROM_SSM"
METRICS_ENV = "ZORORA_E2E_METRICS"
EVENT_KEYS = ("for", "full")


class CanaryError(Exception):
    """The event or the function's configuration is wrong; the message says what to change."""


def flags_from(event: Mapping[str, Any], env: Mapping[str, str], remaining_s: float | None):
    """The run's flags (config/flags.RunFlags) for one invocation."""
    from ..config.flags import RunFlags

    if not isinstance(event, Mapping):
        raise CanaryError(
            f'the event must be a JSON object such as {{}} or {{"for": "acme"}}, not {type(event).__name__}'
        )
    unknown = sorted(str(k) for k in event if k not in EVENT_KEYS)
    if unknown:
        raise CanaryError(
            f'unknown event key(s) {", ".join(unknown)}: the event takes "for" (a customer, and '
            'optionally a challenger id) or "full": true; {} runs the preflight'
        )
    full = event.get("full", False)
    if not isinstance(full, bool):
        raise CanaryError('"full" must be true or false')
    readiness = event.get("for")
    if readiness is not None:
        readiness = [readiness] if isinstance(readiness, str) else readiness
        if not isinstance(readiness, list) or not all(isinstance(v, str) for v in readiness):
            raise CanaryError('"for" must be a customer id, or [customer id, challenger id]')
        if full:
            raise CanaryError('"for" checks a customer read-only after the preflight: it does not combine with "full"')
    deadline = None
    if remaining_s is not None:
        deadline = remaining_s - MARGIN_S
        if deadline < MIN_DEADLINE_S:
            raise CanaryError(
                f"the invocation has {remaining_s:.0f} s left: set the function's timeout to at least "
                f"{MARGIN_S + MIN_DEADLINE_S + 5:.0f} s (its run needs {MARGIN_S:.0f} s beyond its "
                "deadline for the cleanup, the reports and the metrics)"
            )
        configured = env.get("ZORORA_E2E_DEADLINE")
        if configured:
            try:
                deadline = min(deadline, float(configured))
            except ValueError:
                pass  # resolve() names the bad value
    metrics = tuple(v for v in str(env.get(METRICS_ENV, "emf")).split(",") if v.strip() and v.strip() != "none")
    return RunFlags(
        preflight_only=not full,
        readiness_for=readiness,
        assume_yes=full,
        no_color=True,
        token_from_ssm=env.get(TOKEN_PARAMETER_ENV) or None,
        deadline=deadline,
        metrics=metrics,
    )


def remaining_seconds(context) -> float | None:
    get = getattr(context, "get_remaining_time_in_millis", None)
    return None if get is None else float(get()) / 1000.0


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """One canary run (see the module's docstring). Never asks; returns the --json result with `exit_code`, or
    {"verdict": "config_error", "error": ..., "exit_code": 2} when the event or the settings are wrong."""
    from ..config.checks import SettingsError

    env = dict(os.environ)
    history_env = {"ZORORA_E2E_HISTORY": env.get("ZORORA_E2E_HISTORY") or "0"}  # off unless asked
    try:
        flags = flags_from(event if event is not None else {}, env, remaining_seconds(context))
        from ..config.settings import resolve

        settings = resolve(flags, env)
    except (CanaryError, SettingsError) as exc:
        print(f"zorora-e2e canary: {exc}", flush=True)
        return {"verdict": "config_error", "config_error": True, "error": str(exc), "exit_code": 2}
    from ..report.console import make_console
    from ..run.options import RunOptions
    from ..run.validate import validate

    console = make_console(no_color=True, force_terminal=False)
    result = validate(settings, console=console, options=RunOptions(history_env=history_env))
    return {**result.to_dict(), "exit_code": int(result.exit_code)}


__all__ = ["CanaryError", "MARGIN_S", "flags_from", "handler"]
