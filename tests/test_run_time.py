"""Times are the run's, not the engineer's (issue 30 item 5): the time spent answering `Proceed? [y/N]` after the
gate, and at the walkthrough's pauses, is left out everywhere a run's time is shown: the verdict line, the --json
report, the history and the HTML timeline (and it does not count against --deadline)."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from helpers.sandbox import customer

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.report.verdict_line import verdict_line
from zorora_e2e_plugin.report.walkthrough import Options
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate

WAIT = 2.5  # seconds the engineer takes to answer


@pytest.fixture(scope="module")
def sandbox():
    from zorora_e2e_plugin.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


def engine(sandbox, tmp_path, monkeypatch, options, **flags):
    """(result, seconds it really took, the --json report, the history line, the HTML page)."""
    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(tmp_path / "h.jsonl"))
    settings = resolve(
        RunFlags(
            client="direct",
            json_path=str(tmp_path / "r.json"),
            html_path=str(tmp_path / "r.html"),
            customer_id=customer("time"),
            deadline="60",
            **flags,
        ),
        {},
        target=sandbox_target(sandbox),
    )
    began = time.monotonic()
    result = validate(settings, console=make_console(file=io.StringIO(), no_color=True), options=options)
    took = time.monotonic() - began
    history = json.loads((tmp_path / "h.jsonl").read_text().splitlines()[-1])
    return result, took, json.loads((tmp_path / "r.json").read_text()), history, (tmp_path / "r.html").read_text()


def axis_end(html: str) -> float:
    """The last tick of the HTML timeline's time axis, in seconds."""
    return max(float(t) for t in re.findall(r'<text class="axis"[^>]*>([\d.]+) s</text>', html))


def slow(answer: bool):
    def ask() -> bool:
        time.sleep(WAIT)
        return answer

    return ask


def test_answering_no_is_not_the_preflights_time(sandbox, tmp_path, monkeypatch):
    result, took, report, history, _html = engine(sandbox, tmp_path, monkeypatch, RunOptions(ask=slow(False)))
    assert took >= WAIT
    line = verdict_line(result)
    seconds = re.search(r"the preflight passed in ([\d.]+) (ms|s)", line)
    assert seconds, line
    shown = float(seconds.group(1)) / (1000 if seconds.group(2) == "ms" else 1)
    assert shown < took - WAIT + 0.2, (line, took)
    assert report["duration_ms"] / 1000 < took - WAIT + 0.2 and history["duration_s"] < took - WAIT + 0.2


def test_answering_yes_leaves_the_wait_out_of_the_run_and_its_timeline(sandbox, tmp_path, monkeypatch):
    result, took, report, history, html = engine(sandbox, tmp_path, monkeypatch, RunOptions(ask=slow(True)))
    assert result.verdict == "passed" and took >= WAIT
    run = took - WAIT
    assert result.duration_ms / 1000 < run + 0.2 and report["duration_ms"] == result.duration_ms
    assert history["duration_s"] < run + 0.2
    assert axis_end(html) <= result.duration_ms / 1000 + 0.3, (axis_end(html), result.duration_ms)


def test_walkthrough_pauses_are_out_of_the_html_timeline(sandbox, tmp_path, monkeypatch):
    def pause(console, prompt, signals=None) -> str:
        time.sleep(0.5)
        return "go"

    result, took, _report, _history, html = engine(
        sandbox, tmp_path, monkeypatch, RunOptions(presenter=Options(pause=pause))
    )
    assert result.verdict == "passed" and took >= 3.0  # six pauses
    assert axis_end(html) <= result.duration_ms / 1000 + 0.3, (axis_end(html), result.duration_ms, took)
