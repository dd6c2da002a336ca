"""--metrics emf (issue 31 item 2): the lines a run prints are Embedded Metric Format documents, checked against the
published specification ("Specification: Embedded metric format", CloudWatch User Guide): its JSON schema, written
out below, and the rules the schema cannot say (every referenced name a root member, a dimension's value a string
of at most 1024 characters, a metric's a number or at most 100 numbers, at most 100 metrics a directive and 30 keys
a DimensionSet, units CloudWatch's). The checker is shown to catch what it is for; no line holds a secret."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from helpers.metrics import run_with_metrics

from zorora_e2e_plugin.metrics.build import Datum
from zorora_e2e_plugin.metrics.emf import documents, lines
from zorora_e2e_plugin.sandbox import Sandbox

# The specification's schema for an EMF document (its section "Embedded metric format example and JSON schema"),
# without its $id/title/examples annotations.
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer"},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "pattern": "^(.*)$", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "array",
                                    "minItems": 0,
                                    "maxItems": 30,
                                    "items": {"type": "string", "pattern": "^(.*)$", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "pattern": "^(.*)$",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {
                                            "type": "string",
                                            "pattern": (
                                                "^(Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|"
                                                "Terabytes|Bits|Kilobits|Megabits|Gigabits|Terabits|Percent|Count|"
                                                "Bytes\\/Second|Kilobytes\\/Second|Megabytes\\/Second|Gigabytes\\/Second|"
                                                "Terabytes\\/Second|Bits\\/Second|Kilobits\\/Second|Megabits\\/Second|"
                                                "Gigabits\\/Second|Terabits\\/Second|Count\\/Second|None)$"
                                            ),
                                        },
                                        "StorageResolution": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def problems(line: str) -> list:
    """What is wrong with one EMF line, by the specification: its schema, then its rules in prose."""
    try:
        doc = json.loads(line)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    found = [error.message for error in jsonschema.Draft7Validator(EMF_SCHEMA).iter_errors(doc)]
    if found or "\n" in line:
        return found + (["a line break inside the document"] if "\n" in line else [])
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        if len(directive["Metrics"]) > 100:
            found.append("more than 100 MetricDefinitions")
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                value = doc.get(key)
                if not isinstance(value, str) or len(value) > 1024:
                    found.append(f"dimension {key}: target member missing, not a string or too long")
        for metric in directive["Metrics"]:
            value = doc.get(metric["Name"])
            if isinstance(value, list):
                if len(value) > 100 or not value or not all(number(v) for v in value):
                    found.append(f"metric {metric['Name']}: an array target of 1-100 numbers")
            elif not number(value):
                found.append(f"metric {metric['Name']}: target member missing or not a number")
    return found


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


def emf_lines(text: str) -> list:
    return [line for line in text.splitlines() if line.startswith('{"_aws"')]


@pytest.mark.parametrize("faults, kind", [((), "full"), (("no-audit",), "full")], ids=["passing", "failing"])
def test_a_runs_emf_lines_follow_the_specification_and_carry_its_values(sandbox, capsys, faults, kind):
    result, out, settings = run_with_metrics(sandbox, sinks=("emf",), faults=faults, namespace="ZororaE2E")
    printed = capsys.readouterr().out
    docs = emf_lines(printed)
    assert docs and len(docs) == len(printed.strip().splitlines()), "only EMF lines on stdout (the report: console)"
    for line in docs:
        assert problems(line) == [], line
    parsed = [json.loads(line) for line in docs]
    run = next(d for d in parsed if "Passed" in d)
    assert run["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Target", "Kind"]]
    assert (run["Target"], run["Kind"]) == ("sandbox", kind)
    assert run["Passed"] == (1 if result.verdict == "passed" else 0) and run["Duration"] == result.duration_ms
    assert run["FailedSteps"] == sum(1 for s in result.steps if s.status == "fail")
    units = {m["Name"]: m["Unit"] for d in parsed for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {
        "Passed": "Count",
        "Duration": "Milliseconds",
        "FailedSteps": "Count",
        "Retries": "Count",
        "ColdStart": "Count",
        "PhaseDuration": "Milliseconds",
        "RouteLatency": "Milliseconds",
    }
    phases = {d["Phase"]: d["PhaseDuration"] for d in parsed if "Phase" in d}
    assert phases == {str(p): pytest.approx(s * 1000, abs=0.01) for p, s in result.phase_seconds.items()}
    assert all(isinstance(d["RouteLatency"], (list, float, int)) for d in parsed if "Route" in d)
    for secret in (settings.token, result.customer_id, "zorora-e2e-test", sandbox.api_url):
        assert secret not in printed
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ZororaE2E" for d in parsed)


def test_a_readiness_run_adds_ready_with_its_customer(sandbox, capsys):
    sandbox.seed_customer("acme")
    result, _out, _settings = run_with_metrics(sandbox, sinks=("emf",), preflight_only=True, readiness_for=["acme"])
    docs = [json.loads(line) for line in emf_lines(capsys.readouterr().out)]
    ready = [d for d in docs if "Ready" in d]
    assert len(ready) == 1 and ready[0]["Ready"] == 1 and ready[0]["Customer"] == "acme"
    assert ready[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Target", "Kind", "Customer"]]
    assert next(d for d in docs if "Passed" in d)["Kind"] == "readiness"


def test_the_checker_catches_what_it_is_for():
    good = documents([Datum("Passed", "Count", (1.0,), (("Target", "t"), ("Kind", "full")))], "NS", 1)[0]
    assert problems(json.dumps(good)) == []
    breakages = [
        lambda d: d["_aws"].pop("Timestamp"),
        lambda d: d["_aws"].update(Timestamp=1.5),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].pop("Dimensions"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace=""),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Millis"),
        lambda d: d.pop("Passed"),
        lambda d: d.update(Passed="1"),
        lambda d: d.update(Passed=[1] * 101),
        lambda d: d.pop("Kind"),
        lambda d: d.update(Kind=3),
        lambda d: d.update(Kind="x" * 1025),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0].extend(f"D{i}" for i in range(30)),
    ]
    for breakage in breakages:
        broken = copy.deepcopy(good)
        breakage(broken)
        assert problems(json.dumps(broken)) != [], broken
    assert problems(json.dumps(good, indent=1)) != []  # one document a line


def test_limits_split_documents_not_data():
    """A distribution of 250 values is three data of at most 100; repeated names and more than 100 metrics go on to
    further documents: every value arrives, every document is valid."""
    from zorora_e2e_plugin.metrics.build import _data

    dims = (("Target", "t"), ("Kind", "full"))
    data = _data("RouteLatency", "Milliseconds", [float(i) for i in range(250)], dims)
    data += [Datum(f"M{i}", "Count", (1.0,), dims) for i in range(120)]
    out = lines(data, "NS", 1_700_000_000_000)
    assert all(problems(line) == [] for line in out)
    docs = [json.loads(line) for line in out]
    latencies = [v for d in docs if "RouteLatency" in d for v in d["RouteLatency"]]
    assert sorted(latencies) == [float(i) for i in range(250)]
    assert sorted(k for d in docs for k in d if k.startswith("M")) == sorted(f"M{i}" for i in range(120))


def test_non_finite_and_out_of_range_values_are_never_sent():
    from zorora_e2e_plugin.metrics.build import _data

    kept = _data("X", "Count", [1.0, float("nan"), float("inf"), 2.0**400, -1.0, True], (("Target", "t"),))
    assert [d.values for d in kept] == [(1.0, -1.0)]
