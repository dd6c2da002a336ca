"""A run's metrics as plain data: names, units, values and dimensions, from its result and its request timings.

    Passed          1 or 0 (Count)          every run
    Duration        the run's time (Milliseconds)
    PhaseDuration   per phase, dimension Phase (Milliseconds)
    RouteLatency    per API route, dimension Route, e.g. "GET /challengers": every request's time (Milliseconds)
    FailedSteps     steps that failed (Count)
    Retries         reads retried (Count)
    ColdStart       1 when the first request met a cold start, else 0 (Count)
    Ready           readiness runs (--for): 1 when ml-promote would pass, else 0 (Count), dimension Customer

Every metric carries `Target` (the API's host and stage, nothing else of its URL) and `Kind` (preflight, full,
readiness, phases). No value comes from free text: a token, a query or the test customer's id has no way in.
CloudWatch's limits are kept here: at most 30 dimensions, 1-1024 ASCII characters a value, finite values within
+-2^360, and a distribution cut into data of at most 100 values (EMF's limit; PutMetricData's is 150).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ..core.outcomes import FAIL, PASSED
from ..history.record import target_host

MAX_VALUES = 100  # values of one datum: EMF's limit for an array target (PutMetricData allows 150)
MAX_DIMENSIONS = 30
MAX_DIMENSION_VALUE = 1024
VALUE_LIMIT = 2.0**360
MILLISECONDS, COUNT = "Milliseconds", "Count"


@dataclasses.dataclass(frozen=True)
class Datum:
    """One metric's data point(s): `values` holds one value, or a distribution (a route's request times)."""

    name: str
    unit: str
    values: tuple[float, ...]
    dimensions: tuple[tuple[str, str], ...]

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(name for name, _value in self.dimensions)


def target_of(base_url: str, sandbox: bool = False) -> str:
    """The Target dimension: the API's host (and a non-default port) and its stage, the first segment of the
    path (`abc123.execute-api.af-south-1.amazonaws.com/prod`); never a user, password, query, or the rest of
    the path. A sandbox is `sandbox` (its port changes every start: a metric per run would follow)."""
    host = target_host(base_url, sandbox)  # the history's label: lower-cased, without user:password
    if sandbox:
        return host
    stage = urlsplit(base_url).path.strip("/").split("/", 1)[0]  # _dimension keeps it ASCII
    return f"{host}/{stage}" if stage else host


def kind_of(phases: Iterable[int], readiness: bool) -> str:
    if readiness:
        return "readiness"
    phases = set(phases)
    if phases == {0}:
        return "preflight"
    return "full" if phases >= {0, 1, 2, 3, 4, 5} else "phases"


def _dimension(name: str, value: str) -> tuple[str, str]:
    """ASCII, no control characters, 1-1024 characters (PutMetricData's Dimension rules)."""
    text = "".join(c if " " <= c <= "~" else "?" for c in str(value))[:MAX_DIMENSION_VALUE].strip() or "?"
    return name, text


def _finite(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= VALUE_LIMIT
    )


def _data(name: str, unit: str, values: Sequence[float], dimensions: tuple[tuple[str, str], ...]) -> list[Datum]:
    kept = _finite(values)
    return [
        Datum(name, unit, kept[i : i + MAX_VALUES], dimensions[:MAX_DIMENSIONS])
        for i in range(0, len(kept), MAX_VALUES)
    ]


def run_metrics(
    result,
    *,
    target: str,
    kind: str,
    latencies: dict[str, list[float]],
    retries: int,
    cold_start: bool,
    customer: str | None = None,
) -> list[Datum]:
    """The metrics of a finished run. `result`: its RunResult; `latencies`: milliseconds of each answered API
    request by route ("GET /diff"); `customer`: whose promotion a readiness run checked."""
    base = (_dimension("Target", target), _dimension("Kind", kind))
    data: list[Datum] = []
    data += _data("Passed", COUNT, [1 if result.verdict == PASSED else 0], base)
    data += _data("Duration", MILLISECONDS, [result.duration_ms], base)
    for phase, seconds in sorted(result.phase_seconds.items()):
        data += _data("PhaseDuration", MILLISECONDS, [round(seconds * 1000, 3)], base + (_dimension("Phase", phase),))
    for route, values in sorted(latencies.items()):
        data += _data("RouteLatency", MILLISECONDS, values, base + (_dimension("Route", route),))
    data += _data("FailedSteps", COUNT, [sum(1 for s in result.steps if s.status == FAIL)], base)
    data += _data("Retries", COUNT, [retries], base)
    data += _data("ColdStart", COUNT, [1 if cold_start else 0], base)
    if kind == "readiness" and customer:
        answer = ((result.readiness or {}).get("answer") or {}).get("kind")
        data += _data("Ready", COUNT, [1 if answer == "ready" else 0], base + (_dimension("Customer", customer),))
    return data


__all__ = ["COUNT", "Datum", "MAX_VALUES", "MILLISECONDS", "kind_of", "run_metrics", "target_of"]
