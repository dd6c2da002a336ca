"""`--metrics cloudwatch|emf` and `--metrics-namespace`: where a run's metrics go (metrics/ builds and sends them).

The namespace is checked here, before anything is sent, against CloudWatch's own rules (PutMetricData's
`Namespace`: 1-255 ASCII characters, not starting with ':', and not `AWS/`, which AWS keeps for itself).
The region is the run's; the endpoint is boto3's own configuration (AWS_ENDPOINT_URL_CLOUDWATCH,
AWS_ENDPOINT_URL), read by botocore itself; only a sandbox of our own names one (`endpoint_url`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .checks import SettingsError

if TYPE_CHECKING:
    from .flags import RunFlags

SINKS = ("cloudwatch", "emf")
DEFAULT_NAMESPACE = "ZororaE2E"
NAMESPACE_ENV = "ZORORA_E2E_METRICS_NAMESPACE"


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    """Where the run's metrics go: `sinks` (cloudwatch: one PutMetricData batch after the run; emf: JSON lines
    on stdout), the `namespace`, and an `endpoint_url` only for a sandbox's CloudWatch."""

    sinks: tuple[str, ...] = ()
    namespace: str = DEFAULT_NAMESPACE
    endpoint_url: str | None = None

    @property
    def cloudwatch(self) -> bool:
        return "cloudwatch" in self.sinks

    @property
    def emf(self) -> bool:
        return "emf" in self.sinks


def check_namespace(namespace: str, setting: str) -> str:
    text = namespace.strip()
    if (
        not text
        or len(text) > 255
        or not text.isascii()
        or not text.isprintable()
        or text.startswith(":")
        or text.upper().startswith("AWS/")
    ):
        raise SettingsError(
            f"{setting} {namespace!r} is not a CloudWatch namespace: 1-255 printable ASCII "
            "characters, not starting with ':' or 'AWS/' (default ZororaE2E)"
        )
    return text


def metrics_from(flags: RunFlags, env: Mapping[str, str]) -> MetricsSettings | None:
    """The run's metrics settings from --metrics (repeatable, or comma-separated) and --metrics-namespace /
    ZORORA_E2E_METRICS_NAMESPACE; None when no --metrics was given."""
    given = getattr(flags, "metrics", None) or ()
    sinks = []
    for value in given:
        for name in str(value).split(","):
            name = name.strip().lower()
            if name not in SINKS:
                raise SettingsError(f"--metrics must be cloudwatch or emf (got {name!r})")
            if name not in sinks:
                sinks.append(name)
    flag_namespace = getattr(flags, "metrics_namespace", None)
    if not sinks:
        if flag_namespace is not None:
            raise SettingsError("--metrics-namespace needs --metrics cloudwatch or --metrics emf")
        return None
    if flag_namespace is not None:
        namespace = check_namespace(str(flag_namespace), "--metrics-namespace")
    elif env.get(NAMESPACE_ENV):
        namespace = check_namespace(env[NAMESPACE_ENV], NAMESPACE_ENV)
    else:
        namespace = DEFAULT_NAMESPACE
    return MetricsSettings(sinks=tuple(sinks), namespace=namespace)


__all__ = ["DEFAULT_NAMESPACE", "MetricsSettings", "NAMESPACE_ENV", "SINKS", "check_namespace", "metrics_from"]
