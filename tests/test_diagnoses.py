"""Issue 16, items 7-14 and "Diagnoses as data": the right cause, first and once, with a stable id and whose
move it is, in every report. Tests assert diagnosis ids, never the prose.
"""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from helpers.cli import cli
from helpers.engine import STEPS, run_engine
from helpers.lying_proxy import LyingProxy

from zorora_e2e_plugin.config.faces import CLI, REPL
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core import catalogue as diagnose
from zorora_e2e_plugin.core.diagnosis import (
    CATALOGUE,
    DEPLOYMENT,
    PLATFORM,
    SETTINGS,
    VALIDATOR,
    Whose,
    describe,
)
from zorora_e2e_plugin.core.outcomes import (
    FAIL,
    FAILED,
    GATE_FAILED,
    INTERRUPTED,
    PASS,
    SKIP,
    WARN,
    Cleanup,
    RunResult,
    StepResult,
    plan_key,
)
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.report.verdict_line import verdict_line
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket="zorora-e2e-diagnoses") as sb:
        yield sb


def ids_of(result):
    """step id -> diagnosis id, for every step with a diagnosis."""
    return {s.id: s.diagnosis["id"] for s in result.steps if s.diagnosis}


def steps_with(result, diagnosis_id):
    return [s.id for s in result.steps if s.diagnosis and s.diagnosis["id"] == diagnosis_id]


def by_id(result):
    return {s.id: s for s in result.steps}


def fix_lines(text):
    return [line for line in text.splitlines() if line.strip().startswith("fix ")]


# ------------------------------------------------------------------------------ 7. wrong token


def test_a_wrong_token_is_reachable_then_one_token_finding_in_the_settings(sandbox):
    result, text = run_engine(sandbox, ["bad-token"])
    steps = by_id(result)
    assert steps["0.1"].status == PASS  # the gateway answered 401: reachable
    assert steps["0.2"].status == FAIL and steps["0.2"].diagnosis["id"] == "ZE-AUTH-001"
    assert steps["0.2"].diagnosis["whose"] == SETTINGS
    assert steps_with(result, "ZE-AUTH-001") == ["0.2"]  # once: not again under 0.1, 0.3 and 0.5
    assert len(fix_lines(text)) == 1, text
    assert "fix your settings" in verdict_line(result) and "infrastructure" not in verdict_line(result)
    assert result.exit_code == 3


# ------------------------------------------------------------------------------ 8. wrong stage


def test_api_gateways_404_on_every_route_is_the_base_url_named_as_requested(sandbox):
    staging = sandbox.api_url.replace("/prod/", "/staging/")
    result, text = run_engine(sandbox, base_url=staging)
    steps = by_id(result)
    assert steps["0.1"].status == FAIL and steps["0.1"].diagnosis["id"] == "ZE-URL-001"
    assert steps["0.1"].diagnosis["whose"] == SETTINGS
    assert steps_with(result, "ZE-URL-001") == ["0.1"] and not steps_with(result, "ZE-ROUTE-001")
    hint = steps["0.1"].hint
    assert "/staging/api/v1/challengers" in hint and "/prod" not in hint  # the path the run requested
    assert "/prod" not in text.replace(sandbox.api_url, "")  # no hint prints an assumed stage or path
    assert result.exit_code == 2 and "fix your settings" in verdict_line(result)


def test_one_missing_route_is_still_the_deployments_route(sandbox):
    """The other side: API Gateway's 404 on one route, the others reaching the Lambda, is a route to deploy."""
    result, _ = run_engine(sandbox, ["missing-route:/challengers"])
    steps = by_id(result)
    assert steps["0.1"].diagnosis["id"] == "ZE-ROUTE-001" and steps["0.1"].diagnosis["whose"] == DEPLOYMENT
    assert not steps_with(result, "ZE-URL-001")
    assert "fix the infrastructure" in verdict_line(result)
    result, _ = run_engine(sandbox, ["missing-route:/promote"], phases=[0])
    steps = by_id(result)
    assert steps["0.1"].status == PASS and steps["0.5"].diagnosis["id"] == "ZE-ROUTE-001"
    assert "POST /promote" in steps["0.5"].hint and "prod" not in steps["0.5"].hint


# ------------------------------------------------------------------------------ 9. whose move it is


def test_no_aws_credentials_is_the_settings_in_words_exit_2(sandbox, tmp_path):
    env = {k: v for k, v in sandbox.env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    report = tmp_path / "run.json"
    done = cli("run", "--client", "direct", "--no-color", "--yes", "--json", str(report), env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    data = json.loads(report.read_text())
    s3_step = next(s for s in data["steps"] if s["id"] == "0.4")
    assert s3_step["diagnosis"]["id"] == "ZE-S3-005" and s3_step["diagnosis"]["whose"] == SETTINGS
    assert "S3 error" not in s3_step["actual"] and "no AWS credentials" in s3_step["actual"]
    assert [s["id"] for s in data["steps"] if s.get("diagnosis") and s["diagnosis"]["id"] == "ZE-S3-005"] == ["0.4"]
    # the verdict is the summary's last line; where --json went is said after it
    verdict = [line for line in done.stdout.strip().splitlines() if " report written to " not in line][-1]
    assert "fix your settings" in verdict and "infrastructure" not in verdict, verdict


def test_the_verdict_names_whose_fix_it_is():
    def run(*hints):
        steps = [
            StepResult(f"2.{i + 1}", 2, "t", FAIL, hint=CLI.hint(h), diagnosis=describe(h, CLI.hint(h)))
            for i, h in enumerate(hints)
        ]
        return verdict_line(RunResult(FAILED, "c", "direct", 10, steps, Cleanup()))

    assert "fix the infrastructure" in run(diagnose.FORBIDDEN)
    assert "fix the platform's Lambda code" in run(diagnose.NO_AUDIT) and "infrastructure" not in run(diagnose.NO_AUDIT)
    assert "fix your settings" in run(diagnose.DNS) and "infrastructure" not in run(diagnose.DNS)
    both = run(diagnose.DNS, diagnose.FORBIDDEN)
    assert "fix your settings and fix the infrastructure" in both
    model = run(diagnose.FOR_GATES)  # issue 29 item 3: the challenger's own state is nobody's fault
    assert "re-evaluate or retrain the challenger (nothing is broken)" in model and "fix" not in model, model


# ------------------------------------------------------------------------------ 10. one cause, one finding


def test_a_server_skipping_its_gates_fails_4_6_only(sandbox):
    result, _ = run_engine(sandbox, ["no-gates"])
    steps = by_id(result)
    assert steps["4.6"].status == FAIL and steps["4.6"].diagnosis["id"] == "ZE-LAMBDA-010"
    assert steps["4.5"].status == PASS, steps["4.5"]  # 4.6's own promote and undo are 4.6's finding
    assert [s.id for s in result.steps if s.status == FAIL] == ["4.6"]


@pytest.mark.slow
def test_a_rejected_request_that_writes_is_still_4_5s_finding(sandbox):
    """The other side: a server that rejects 4.3's promotion (a 4-character reason) but appends an audit event."""

    def lie(request, status, body):
        if request.method == "POST" and request.route == "/promote" and (request.body or {}).get("reason") == "tiny":
            customer = request.body["customer_id"]
            s3, key = sandbox.s3_client(), f"audit_logs/{customer}/events.json"
            doc = json.loads(s3.get_object(Bucket=sandbox.bucket, Key=key)["Body"].read())
            doc.setdefault("events", []).append({"action": "promote", "model_id": "x", "reason": "tiny"})
            s3.put_object(Bucket=sandbox.bucket, Key=key, Body=json.dumps(doc).encode())
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, _ = run_engine(sandbox, base_url=proxy.url)
    steps = by_id(result)
    assert steps["4.5"].status == FAIL and steps["4.5"].diagnosis["id"] == "ZE-LAMBDA-012"


@pytest.mark.slow
def test_a_rejected_request_that_writes_the_registry_before_phase_4s_setup_is_still_4_5s_finding(sandbox):
    """4.1-4.4 go out beside phase 4's setup writes: a server that rejects 4.3's promotion but first rewrites
    the registry (no audit event), landing before the setup's put (S3 answers 300 ms late), must not have its
    write hidden under that put: the put is conditional on the registry 3.3 read, S3 refuses it, and 4.5 finds
    the registry changed."""

    def write_first(request):
        if request.method == "POST" and request.route == "/promote" and (request.body or {}).get("reason") == "tiny":
            s3, key = sandbox.s3_client(), f"customer_tailored/{request.body['customer_id']}/latest_model.json"
            doc = json.loads(s3.get_object(Bucket=sandbox.bucket, Key=key)["Body"].read())
            doc["touched_by"] = "a rejected request"
            s3.put_object(Bucket=sandbox.bucket, Key=key, Body=json.dumps(doc).encode())
        return None

    with LyingProxy(sandbox, before=write_first) as proxy:
        result, _ = run_engine(sandbox, ["latency:300"], base_url=proxy.url)
    steps = by_id(result)
    assert steps["4.5"].status == FAIL and steps["4.5"].diagnosis["id"] == "ZE-LAMBDA-012", steps["4.5"]
    assert steps["4.3"].status == PASS and steps["4.6"].status == SKIP, (steps["4.3"], steps["4.6"])


@pytest.mark.slow
def test_3_3_judges_the_archive_content_when_its_key_is_not_where_the_rollback_answer_points(sandbox):
    """3.3 reads the archive named by the rollback's rollback_at beside its listing; an answer whose time is
    not the key's (here a year off) costs one more read, and the content is still judged (a rollback's archive
    with another reason word: a warning)."""

    def other_time(request, status, body):
        if request.method == "POST" and request.route == "/rollback" and status == 200:
            answer = json.loads(body)
            answer["rollback_at"] = "2001-01-01T00:00:00Z"
            return status, json.dumps(answer)
        return None

    with LyingProxy(sandbox, other_time) as proxy:
        result, _ = run_engine(sandbox, ["archive-reason:retired"], base_url=proxy.url)
    step = by_id(result)["3.3"]
    assert step.status == WARN and "archive_reason = 'retired'" in step.actual, step


def _metrics_elsewhere(request, status, body):
    """A Lambda that looks metrics up under another key: every lookup of a model's metrics is its 404."""
    if request.method == "GET" and request.route in ("/metrics", "/diff") and status == 200:
        model = json.loads(body).get("challenger_id") or json.loads(body).get("model_id")
        return 404, json.dumps({"error": f"Metrics not found for model {model}"})
    return None


@pytest.mark.slow
def test_metrics_the_lambda_cannot_find_are_named_at_2_x_and_not_blamed_on_the_alias(sandbox):
    with LyingProxy(sandbox, _metrics_elsewhere) as proxy:
        result, _ = run_engine(sandbox, base_url=proxy.url)
    found = ids_of(result)
    assert found["2.2"] == "ZE-LAMBDA-002" and found["2.4"] == "ZE-LAMBDA-002"  # 2.4 has a hint now
    assert found.get("3.1") == "ZE-LAMBDA-003", found  # the same cause as 2.2, not the latest alias
    assert not steps_with(result, "ZE-LAMBDA-004")
    assert steps_with(result, "ZE-LAMBDA-003") == ["3.1"]


def test_an_unresolved_latest_alias_is_still_the_alias(sandbox):
    result, _ = run_engine(sandbox, ["no-latest-alias"])
    assert steps_with(result, "ZE-LAMBDA-004") == ["3.1"]


# ------------------------------------------------------------------------------ 11 / 13. order, completeness


def test_skipped_steps_are_one_line_and_the_verdict_lists_failures_in_plan_order(sandbox):
    result, text = run_engine(sandbox, ["bad-token"])
    assert not re.search(r"^\s+⏭ 1\.1\s", text, flags=re.M)  # no line per skipped step
    assert len(re.findall(r"⏭ Phases 1–4\s+skipped \(20 steps\)", text)) == 1, text
    steps = [StepResult(i, 0, "t", FAIL) for i in ("0.1", "0.5", "0.2")]
    line = verdict_line(RunResult(GATE_FAILED, "c", "direct", 10, steps, Cleanup()))
    assert "(step 0.1, 0.2, 0.5)" in line, line


@pytest.mark.slow
def test_json_and_junit_list_steps_in_plan_order_with_the_diagnosis(sandbox, tmp_path):
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    sandbox.set_faults(["no-gates"])  # 4.6 runs before 4.5, 0.2 after 0.5: completion order is not plan order
    try:
        done = cli(
            "run", "--client", "direct", "--no-color", "--json", str(report), "--junit", str(junit), env=sandbox.env()
        )
    finally:
        sandbox.set_faults([])
    assert done.returncode == 1, done.stdout + done.stderr
    ids = [s["id"] for s in json.loads(report.read_text())["steps"]]
    assert ids == sorted(ids, key=plan_key) and len(ids) == STEPS
    step = next(s for s in json.loads(report.read_text())["steps"] if s["id"] == "4.6")
    assert set(step["diagnosis"]) == {"id", "whose", "hint"} and step["diagnosis"]["whose"] == PLATFORM
    cases = ET.parse(junit).getroot().findall("testcase")
    names = [c.get("name").split()[0] for c in cases]
    assert names == ids
    failure = cases[names.index("4.6")].find("failure")
    assert failure.get("type") == "ZE-LAMBDA-010" and "ZE-LAMBDA-010 (platform)" in failure.text


class _CtrlCAtPhase4(Reporter):
    """Ctrl-C the moment phase 4 is announced (before its setup and its steps)."""

    def phase_started(self, phase):
        if phase.id == 4:
            raise KeyboardInterrupt


def test_ctrl_c_right_after_phase_4_keeps_every_planned_step(sandbox, tmp_path):
    report = tmp_path / "r.json"
    settings = resolve(RunFlags(client="direct", json_path=str(report)), {}, target=sandbox_target(sandbox))
    out = io.StringIO()
    result = validate(
        settings, console=make_console(file=out, no_color=True), options=RunOptions(observers=[_CtrlCAtPhase4()])
    )
    assert result.verdict == INTERRUPTED
    steps = by_id(result)
    for step_id in ("4.1", "4.2", "4.3", "4.4", "4.5", "4.6"):
        assert steps[step_id].status == SKIP and steps[step_id].actual == "interrupted", steps.get(step_id)
    ids = [s["id"] for s in json.loads(report.read_text())["steps"]]
    assert ids == sorted(ids, key=plan_key) and {"4.1", "4.6", "5.2"} <= set(ids) and len(ids) == STEPS
    assert "interrupted" in out.getvalue().split("Phase 4")[1]


# ------------------------------------------------------------------------------ 14. the REPL's words


@pytest.mark.parametrize("name", ["CONNECT", "DNS", "TLS", "WRONG_URL", "REDIRECT", "NOT_JSON"])
def test_a_base_url_fix_in_the_repl_says_restart_zorora(name):
    shown = REPL.hint(getattr(diagnose, name))
    assert "ONA_API_BASE_URL (then restart Zorora)" in shown and "--base-url" not in shown


# ------------------------------------------------------------------------------ the catalogue


def test_every_diagnosis_has_a_stable_id_a_whose_and_no_assumed_stage():
    assert len(CATALOGUE) >= 30
    for key, entry in CATALOGUE.items():
        assert re.fullmatch(r"ZE-[A-Z0-9]+-\d{3}", key) and entry.id == key
        assert entry.whose in (SETTINGS, DEPLOYMENT, PLATFORM, VALIDATOR, Whose.MODEL)
        text = CLI.hint(entry)
        assert "/prod/api" not in text and "prod stage" not in text and "'/prod'" not in text, key


def test_a_hint_keeps_its_id_through_fill_and_is_never_identified_by_its_text():
    formatted = diagnose.ROUTE_MISSING.fill(route="GET /diff", it="it")
    assert describe(formatted, CLI.hint(formatted))["id"] == "ZE-ROUTE-001"
    assert describe(None, "") is None
    assert not hasattr(diagnose, "identify")


def test_the_docs_list_every_diagnosis():
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "diagnoses.md")
    text = open(path, encoding="utf-8").read()
    for key, entry in CATALOGUE.items():
        assert re.search(rf"^\| `{key}` \| {entry.whose} \|", text, flags=re.M), key
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    assert "docs/diagnoses.md" in readme


@pytest.mark.parametrize(
    "fault, whose, words",
    [
        ("no-audit", PLATFORM, "fix the platform's Lambda code"),
        ("missing-route:/diff", DEPLOYMENT, "fix the infrastructure"),
        ("stage-prefix", PLATFORM, "fix the platform's Lambda code"),
        ("noop-rollback", PLATFORM, "fix the platform's Lambda code"),
    ],
)
def test_every_failure_says_whose_move_and_the_verdict_agrees(sandbox, fault, whose, words):
    result, _ = run_engine(sandbox, [fault])
    failed = [s for s in result.steps if s.status == FAIL]
    assert failed and all(s.diagnosis and s.diagnosis["whose"] for s in failed), failed
    assert whose in result.whose(FAIL)
    line = verdict_line(result)
    assert words in line, line
    if whose != DEPLOYMENT:
        assert "infrastructure" not in line, line


@pytest.mark.slow
def test_a_rest_apis_missing_authentication_token_is_the_url_not_iam(sandbox):
    """API Gateway (REST) answers 403 {"message":"Missing Authentication Token"} for a path it has no resource
    for: the base URL's stage or path, not an IAM denial; a plain 403 stays the deployment's."""

    def no_resource(request, status, body):
        return 403, json.dumps({"message": "Missing Authentication Token"})

    with LyingProxy(sandbox, no_resource) as proxy:
        result, _ = run_engine(sandbox, base_url=proxy.url, phases=[0])
    assert ids_of(result).get("0.2") == "ZE-URL-004" and not steps_with(result, "ZE-AUTH-002")
    assert "fix your settings" in verdict_line(result) and "infrastructure" not in verdict_line(result)
    with LyingProxy(sandbox, lambda request, status, body: (403, json.dumps({"message": "Forbidden"}))) as proxy:
        result, _ = run_engine(sandbox, base_url=proxy.url, phases=[0])
    assert ids_of(result).get("0.2") == "ZE-AUTH-002" and "fix the infrastructure" in verdict_line(result)
