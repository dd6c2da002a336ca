"""Since when (issue 31 item 6): `history` says per target and kind "broken since T (N runs)" after a pass followed
by failures and "fixed at T" after the reverse; `--json` carries the previous verdict of the same target and kind."""

from __future__ import annotations

import io
import json

import pytest
from helpers.metrics import run_with_metrics

from zorora_e2e_plugin.history.file import append
from zorora_e2e_plugin.history.since import streak
from zorora_e2e_plugin.history.view import show
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.sandbox import Sandbox


def run(started, verdict, kind="preflight", target="api.example.com"):
    return {
        "v": 1,
        "started": started,
        "target": target,
        "kind": kind,
        "verdict": verdict,
        "duration_s": 0.5,
        "client": "direct",
        "phases": [0],
        "phase_s": {},
        "routes": {},
        "retries": {},
        "cold_start": False,
    }


T = [f"2026-12-01T0{i}:00:00Z" for i in range(10)]


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        (["passed", "failed", "gate_failed"], ("broken", T[1], 2)),
        (["passed", "failed", "interrupted", "failed"], ("broken", T[1], 2)),
        (["failed", "passed"], ("fixed", T[1], 1)),
        (["gate_failed", "interrupted", "passed"], ("fixed", T[2], 1)),
        (["failed", "failed"], None),  # never passed: nothing broke
        (["passed", "passed"], None),
        (["passed"], None),
        (["passed", "failed", "passed", "failed"], ("broken", T[3], 1)),
    ],
)
def test_streak(verdicts, expected):
    runs = [run(T[i], v) for i, v in enumerate(verdicts)]
    assert streak(list(reversed(runs))) == expected  # the order they come in does not matter


def check(started, verdict, answer):
    """A readiness check's history line (--for): its verdict, and its answer once the gate passed."""
    return {**run(started, verdict, kind="readiness"), "readiness": {"customer": "acme", "answer": answer}}


@pytest.mark.parametrize(
    "answers, expected",
    [
        # ready, then the model's own state (would be refused, not answerable, nothing to promote): nothing broke
        ([("passed", "ready"), ("failed", "refused"), ("failed", "unanswerable"), ("failed", "nothing")], None),
        ([("failed", "unanswerable"), ("passed", "ready")], None),
        # the gate failing is the chain breaking, for a check as for any run
        ([("passed", "ready"), ("gate_failed", None), ("gate_failed", None)], ("broken", T[1], 2)),
        ([("gate_failed", None), ("failed", "refused")], ("fixed", T[1], 1)),
    ],
)
def test_a_readiness_answer_is_the_models_state_not_a_broken_chain(answers, expected):
    """Issue 30 item 3 meets issue 31: 'broken since' counts a check only by its gate, never by its answer."""
    runs = [check(T[i], verdict, answer) for i, (verdict, answer) in enumerate(answers)]
    assert streak(runs) == expected


def test_history_says_broken_since_and_fixed_at_per_target_and_kind(tmp_path):
    path = tmp_path / "h.jsonl"
    for i, verdict in enumerate(["passed", "failed", "failed"]):
        append(run(T[i], verdict), str(path))
    for i, verdict in enumerate(["gate_failed", "passed"]):
        append(run(T[i], verdict, kind="full"), str(path))
    for i, verdict in enumerate(["passed", "failed"]):
        append(run(T[i], verdict, target="other.example.com"), str(path))
    out = io.StringIO()
    show(make_console(file=out, no_color=True, force_terminal=False), path=str(path))
    text = out.getvalue()
    main = (
        text.split("other.example.com")[0]
        if text.index("api.example.com") < text.index("other")
        else text.split("api.example.com", 1)[1]
    )
    assert "preflight runs broken since 2026-12-01 01:00:00 UTC (2 runs)" in " ".join(main.split())
    assert "full runs fixed at 2026-12-01 01:00:00 UTC" in " ".join(main.split())
    flat = " ".join(main.split())
    assert flat.index("preflight runs broken") < flat.index("full runs fixed")
    assert "broken since 2026-12-01 01:00:00 UTC (1 run)" in " ".join(text.split())


def test_json_carries_the_previous_verdict_of_the_same_target_and_kind(tmp_path):
    history = tmp_path / "h.jsonl"
    with Sandbox() as sb:
        reports = []
        for faults, flags in [
            ((), {"preflight_only": True}),
            (("missing-route:/promote",), {"preflight_only": True}),
            ((), {}),
        ]:
            path = tmp_path / f"r{len(reports)}.json"
            result, _out, _ = run_with_metrics(
                sb, sinks=("emf",), faults=faults, history=history, json_path=str(path), **flags
            )
            reports.append(json.loads(path.read_text()))
    first, second, full = reports
    assert first["previous"] is None
    recorded = [json.loads(line) for line in history.read_text().splitlines()]
    assert second["previous"] == {"verdict": "passed", "started": recorded[0]["started"]}
    assert second["verdict"] == "gate_failed"
    assert full["previous"] is None  # a full run is another kind than the preflights before it
