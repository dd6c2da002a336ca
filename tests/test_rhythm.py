"""The rhythm of Zorora's output (issue 30 item 6): no figure twice on one line; step titles without internal
cross-references; with `--sandbox --debug` (or `demo --debug`) no curl line that points at $ONA_API_TOKEN for a
sandbox whose URL and token went with the run. (One blank line after the verdict: test_repl_command; "stopped at
the pause before phase N": test_walkthrough.)"""

from __future__ import annotations

import json
import re

from helpers.engine import run_engine
from helpers.repl import run_shown

import zorora_e2e_plugin
from zorora_e2e_plugin.config.readiness_target import ReadinessTarget
from zorora_e2e_plugin.plan import cleanup_phase, phases
from zorora_e2e_plugin.plan.readiness.phase import readiness_phase
from zorora_e2e_plugin.report.artifacts.curl import GONE

DURATION = re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b")


def test_no_duration_twice_on_a_line(sandbox_instance):
    _result, out = run_engine(sandbox_instance)
    twice = [line for line in out.splitlines() if len(DURATION.findall(line)) > 1]
    assert twice == [], "\n".join(twice)
    assert re.search(r"✓ 0\.1  API Gateway reachable \(GET /challengers\)  [\d.]+ m?s  HTTP 200$", out, re.M), out


def test_step_titles_name_no_other_step():
    plan = [*phases(), cleanup_phase(), readiness_phase(ReadinessTarget("acme"))]
    titles = [(step.id, step.title) for phase in plan for wave in phase.waves for step in wave]
    assert [t for t in titles if re.search(r"\(\d+\.\d+", t[1])] == []


def test_a_sandbox_runs_debug_output_has_no_curl_line_for_a_gone_token(host, monkeypatch, tmp_path):
    monkeypatch.setenv("ONA_API_BASE_URL", "http://127.0.0.1:9/prod/api/v1")
    monkeypatch.setenv("ONA_API_TOKEN", "zororas-real-token")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    report = tmp_path / "r.json"
    verdict, shown = run_shown(repl, f"ml-validate-e2e --sandbox --debug --fault bad-token --json {report}")
    assert verdict.startswith("✗ Preflight gate failed"), shown
    assert "$ONA_API_TOKEN" not in shown and "curl -sS" not in shown, shown
    assert "no curl line for step 0.2: the sandbox it was sent to stopped with the run" in " ".join(shown.split())
    curl = next(s["curl"] for s in json.loads(report.read_text())["steps"] if s["id"] == "0.2")
    assert "$ONA_API_TOKEN" not in curl and GONE in curl  # the record names whose token it was
