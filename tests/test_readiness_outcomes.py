"""Readiness checks in the history and the HTML are not failures (issue 30 item 3): a check whose gate passed has
its own outcome (ready, would be refused, not answerable, nothing to promote), with its own trend, colour and
words, in `zorora-e2e history` / `ml-validate-e2e --history` and in the HTML's "Recent runs"; a check of a
challenger id that is unknown is labelled with that id, not "(no challenger)".
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from helpers.engine import run_engine

from zorora_e2e_plugin.history import file as history_file
from zorora_e2e_plugin.history.view import show
from zorora_e2e_plugin.report.console import make_console

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ANSWERS = (
    ("passed", "ready"),
    ("failed", "refused"),
    ("passed", "unanswerable"),
    ("passed", "nothing"),
    ("failed", "refused"),
)


def record(minutes_ago, verdict, answer, customer="acme"):
    return {
        "v": 1,
        "started": (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": "api.example.com",
        "client": "direct",
        "kind": "readiness",
        "phases": [0],
        "verdict": verdict,
        "duration_s": 0.4,
        "routes": {},
        "cold_start": False,
        "first_request_s": None,
        "json_report": None,
        "readiness": {"customer": customer, "challenger": f"{customer}/challenger_1", "answer": answer},
    }


def shown(tmp_path, rows, color=False):
    path = tmp_path / "h.jsonl"
    for row in rows:
        history_file.append(row, str(path))
    out = io.StringIO()
    console = make_console(file=out, no_color=not color, force_terminal=color)
    console.width = 120
    show(console, path=str(path), now=NOW)
    return out.getvalue()


def test_checks_have_their_own_trends_and_words_never_failed(tmp_path):
    text = shown(tmp_path, [record(50 - i, v, a) for i, (v, a) in enumerate(ANSWERS)])
    assert "readiness failed" not in text and not re.search(r"readiness\s+failed", text), text
    for said, runs in (("ready", 1), ("would be refused", 2), ("not answerable", 1), ("nothing to promote", 1)):
        assert re.search(rf"^  readiness +{said} +\S+ +last .*\({runs} runs?\)$", text, re.M), (said, text)
        assert re.search(rf"readiness +{said} +[\d.]+ m?s +direct", text), (said, text)  # the recent runs


def test_a_refusal_is_drawn_in_its_own_colour_not_a_failures(tmp_path):
    text = shown(tmp_path, [record(5, "failed", "refused")], color=True)
    magenta, red = "\x1b[35m", "\x1b[31m"
    assert f"{magenta}would be refused" in text and f"{red}would be refused" not in text, repr(text)
    assert f"{red}failed" not in text


@pytest.fixture(scope="module")
def sandbox():
    from zorora_e2e_plugin.sandbox import Sandbox

    with Sandbox() as sb:
        sb.seed_customer("acme")
        sb.seed_customer("beta:stale")
        yield sb


def test_the_html_recent_runs_draw_checks_in_their_answers_colours(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(tmp_path / "h.jsonl"))
    run_engine(sandbox, phases=[0], readiness_for=["acme"])  # ready
    page = tmp_path / "r.html"
    result, _out = run_engine(sandbox, phases=[0], readiness_for=["beta"], html_path=str(page))  # would be refused
    assert result.exit_code == 4
    html = page.read_text()
    bars = re.findall(r'<rect class="run"[^>]*fill="(#[0-9a-f]+)"><title>([^<]*)</title>', html)
    assert [colour for colour, _title in bars] == ["#2e9d4f", "#8e44ad"], bars  # green ready, purple refused
    assert "readiness would be refused" in bars[-1][1] and "#d1342f" not in "".join(c for c, _ in bars)
    assert 'class="v-r-refused" id="verdict">zorora-e2e: readiness: would be refused<' in html


def test_an_unknown_challenger_is_labelled_with_its_id(sandbox, tmp_path, monkeypatch):
    path = tmp_path / "h.jsonl"
    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(path))
    run_engine(sandbox, phases=[0], readiness_for=["acme", "acme/challenger_nope"])
    out = io.StringIO()
    show(make_console(file=out, no_color=True), path=str(path))
    text = out.getvalue()
    assert "not answerable (acme/challenger_nope)" in text and "no challenger" not in text, text
