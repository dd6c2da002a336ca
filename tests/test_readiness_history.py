"""Readiness checks in the run history: recorded per run (whose, which challenger, the answer), shown per
customer and target with the age of the last check (`zorora-e2e history`, `ml-validate-e2e --history`)."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from helpers.cli import cli
from helpers.engine import run_engine

from zorora_e2e_plugin.history.view import show
from zorora_e2e_plugin.report.console import make_console


@pytest.fixture(scope="module")
def sandbox():
    from zorora_e2e_plugin.sandbox import Sandbox

    with Sandbox() as sb:
        sb.seed_customer("acme")
        sb.seed_customer("beta:few-windows")
        yield sb


def test_each_check_is_recorded_and_shown_per_customer_with_its_age(sandbox, tmp_path, monkeypatch):
    path = tmp_path / "history.jsonl"
    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(path))
    for customer in ("acme", "beta", "acme"):
        run_engine(sandbox, phases=[0], readiness_for=[customer])
    run_engine(sandbox, phases=[0])  # a plain preflight: no readiness in its line
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in records] == ["readiness", "readiness", "readiness", "preflight"]
    assert records[1]["readiness"]["customer"] == "beta" and records[1]["readiness"]["answer"] == "refused"
    assert records[0]["readiness"]["challenger"].startswith("acme/challenger_")
    assert records[3]["readiness"] is None

    out = io.StringIO()
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    show(make_console(file=out, no_color=True), path=str(path), now=later)
    text = out.getvalue()
    assert "readiness acme: last checked 2 h" in text and "ready (acme/challenger_" in text and "2 check(s)" in text
    assert "readiness beta: last checked 2 h" in text and "would be refused (beta/challenger_" in text
    assert "1 check(s)" in text
    assert re.search(r"readiness\s+would be refused\s+[\d.]+ m?s\s+direct\s+for beta", text), text  # whose check it was


@pytest.mark.slow
def test_the_cli_history_shows_them_too(sandbox, tmp_path):
    path = tmp_path / "history.jsonl"
    env = {**sandbox.env(), "ZORORA_E2E_HISTORY": str(path)}
    done = cli("run", "--preflight-only", "--for", "beta", "--client", "direct", env=env)
    assert done.returncode == 4, done.stdout + done.stderr
    shown = cli("history", "--no-color", env={"ZORORA_E2E_HISTORY": str(path)})
    assert shown.returncode == 0 and "readiness beta: last checked" in shown.stdout, shown.stdout
