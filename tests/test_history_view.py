"""`zorora-e2e history` as a person reads it: trends and medians per kind AND verdict (gate failures are not
mixed with passing runs), "last passing preflight" counting full runs whose phase 0 passed, a note column
only when a run has a note, the --json report path shown. Records written with history.append, read back
through the view; durations read as numbers."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

from zorora_e2e_plugin.history import file as history_file
from zorora_e2e_plugin.history import view as history_view
from zorora_e2e_plugin.report.console import make_console

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def run(minutes_ago: float, **fields):
    base = {
        "v": 1,
        "started": (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": "api.example.com",
        "client": "direct",
        "kind": "full",
        "phases": [0, 1, 2, 3, 4, 5],
        "verdict": "passed",
        "duration_s": 2.5,
        "routes": {},
        "cold_start": False,
        "first_request_s": None,
        "json_report": None,
    }
    base.update(fields)
    return base


def shown(tmp_path, rows, width=80):
    path = tmp_path / "h.jsonl"
    for row in rows:
        history_file.append(row, str(path))
    out = io.StringIO()
    console = make_console(file=out, no_color=True)
    console.width = width
    history_view.show(console, path=str(path), now=NOW)
    return out.getvalue()


def seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+) (ms|s)", text).groups()
    return float(number) / (1000 if unit == "ms" else 1)


def trend(text: str, kind: str, verdict: str):
    """(runs, last, median) of the trend line for kind/verdict."""
    for line in text.splitlines():
        m = re.match(rf"\s+{kind}\s+{verdict}\s+\S+\s+last ([\d.]+ m?s), median ([\d.]+ m?s) \((\d+) runs?\)", line)
        if m:
            return int(m.group(3)), seconds(m.group(1)), seconds(m.group(2))
    return None


def test_trends_and_medians_per_verdict(tmp_path):
    rows = [run(100 - i, duration_s=2.4 + i / 10) for i in range(3)]
    rows += [run(50 - i, verdict="gate_failed", duration_s=0.15 + i / 10) for i in range(3)]
    text = shown(tmp_path, rows)
    runs, last, middle = trend(text, "full", "passed")
    assert runs == 3 and 2.5 <= middle <= 2.6 and 2.5 <= last <= 2.7, text
    runs, last, middle = trend(text, "full", "gate failed")
    assert runs == 3 and 0.2 <= middle <= 0.3, text  # its own line: not mixed with passing runs


def test_last_passing_preflight_counts_full_runs_whose_phase_0_passed(tmp_path):
    text = shown(tmp_path, [run(180), run(120, verdict="failed"), run(60, verdict="gate_failed")])
    assert "last passing preflight: 2 h 0 min ago" in text, text  # the failed run got past the gate
    text = (
        shown(tmp_path / "x", [run(60, verdict="gate_failed"), run(30, kind="phases", phases=[2], verdict="passed")])
        if (tmp_path / "x").mkdir() is None
        else ""
    )
    assert "last passing preflight: none recorded" in text, text  # a gate failure, and a run without phase 0


def test_note_column_only_when_a_run_has_a_note_and_the_json_report_is_shown(tmp_path):
    text = shown(tmp_path, [run(10), run(5)])
    header = next(line for line in text.splitlines() if "started (UTC)" in line)
    assert header.split() == ["started", "(UTC)", "kind", "verdict", "duration", "client"], header
    (tmp_path / "b").mkdir()
    text = shown(
        tmp_path / "b", [run(10, cold_start=True, first_request_s=4.2), run(5, json_report="/tmp/reports/run-7.json")]
    )
    header = next(line for line in text.splitlines() if "started (UTC)" in line)
    assert header.split()[-1] == "note"
    assert "cold start 4.2 s" in text
    assert re.search(r"^\s+--json reports:\n\s+\S+ \S+\s+/tmp/reports/run-7\.json$", text, re.M), text


def test_durations_in_one_format(tmp_path):
    text = shown(tmp_path, [run(10, duration_s=0.436), run(5, duration_s=1.1)])
    found = re.findall(r"\b(\d+(?:\.\d+)?)\s?(ms|s)\b", text)
    assert found and all(re.fullmatch(r"\d+ ms|\d+\.\d s", f"{n} {u}") for n, u in found), found
    assert not re.search(r"\d(ms|s)\b", text), text  # never "1.1s"
