"""A run's metrics as CloudWatch Embedded Metric Format (EMF) documents: one JSON object per line, as a Lambda's
log turns them into metrics with no API call.

Written to the published specification ("Specification: Embedded metric format", CloudWatch User Guide): each
document has `_aws` with `Timestamp` (milliseconds since the epoch) and `CloudWatchMetrics`, a list of one
MetricDirective (`Namespace`, `Dimensions`: one DimensionSet, `Metrics`: Name and Unit each, at most 100); every
name a directive references is a member of the root, a dimension's a string, a metric's a number or an array of
at most 100 numbers. A DimensionSet applies to every metric of its document, and a root member holds one value,
so the data go into one document per set of dimension values (the run's, each phase's, each route's, ...).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .build import Datum

MAX_METRICS = 100  # MetricDefinitions in one directive


def documents(data: Sequence[Datum], namespace: str, timestamp_ms: int) -> list[dict]:
    """The EMF documents for `data`, in the order their dimensions first appear."""
    groups: dict[tuple[tuple[str, str], ...], list[Datum]] = {}
    for datum in data:
        groups.setdefault(datum.dimensions, []).append(datum)
    out: list[dict] = []
    for dimensions, members in groups.items():
        pending = list(members)
        while pending:  # a metric name appears once per document (it is a root member): repeats go on to the next
            chosen: list[Datum] = []
            later: list[Datum] = []
            for datum in pending:
                if len(chosen) < MAX_METRICS and all(d.name != datum.name for d in chosen):
                    chosen.append(datum)
                else:
                    later.append(datum)
            out.append(_document(chosen, dimensions, namespace, timestamp_ms))
            pending = later
    return out


def _document(data: list[Datum], dimensions, namespace: str, timestamp_ms: int) -> dict:
    root: dict = {
        "_aws": {
            "Timestamp": int(timestamp_ms),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[name for name, _value in dimensions]],
                    "Metrics": [{"Name": d.name, "Unit": d.unit} for d in data],
                }
            ],
        }
    }
    root.update(dict(dimensions))
    for datum in data:
        values = [_number(v) for v in datum.values]
        root[datum.name] = values[0] if len(values) == 1 else values
    return root


def _number(value: float):
    return int(value) if float(value).is_integer() else value


def lines(data: Sequence[Datum], namespace: str, timestamp_ms: int) -> list[str]:
    """One compact JSON line per document (no line breaks inside: each line is one log event)."""
    return [
        json.dumps(doc, separators=(",", ":"), ensure_ascii=True) for doc in documents(data, namespace, timestamp_ms)
    ]


__all__ = ["MAX_METRICS", "documents", "lines"]
