"""`--preflight-only --for CUSTOMER [CHALLENGER_ID]` against a sandbox with seeded customers: the answer
(ready / would be refused naming the gate / not answerable naming what is missing), its exit code, and proof
that the customer's objects are byte-identical afterwards and that nothing but GETs was sent for it (every
API request seen by a recording proxy, bodies included; every S3 request in the sandbox's log).
"""

from __future__ import annotations

import json
import re

import pytest
from helpers.engine import run_engine
from helpers.lying_proxy import LyingProxy
from helpers.readiness import check, snapshot

from zorora_e2e_plugin.core.outcomes import ExitCode


@pytest.fixture(scope="module")
def seeded():
    """One sandbox, a seeded customer per variant (unique names: the sandbox is this module's own)."""
    from zorora_e2e_plugin.sandbox import Sandbox

    sandbox = Sandbox().start()
    try:
        customers = {
            v: sandbox.seed_customer(f"acme-{v}:{v}") for v in ("eligible", "stale", "regressing", "few-windows")
        }
        yield sandbox, customers
    finally:
        sandbox.stop()


@pytest.mark.slow
def test_an_eligible_named_challenger_is_ready_with_the_right_numbers(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]
    result, out, block = check(sandbox, c.customer_id, c.challenger_id)
    assert result.exit_code == ExitCode.PASSED, out
    line = block["answer"]["line"]
    assert line.startswith(f"✓ ready: ml-promote {c.customer_id} {c.challenger_id} would pass every gate"), line
    for part in ("MAE +8.4 %", "RMSE +6.1 %", "14 windows", "evaluated 2 days ago"):
        assert part in line, line
    assert out.rstrip().splitlines()[-1] == line  # the run's last line is the answer
    assert block["answer"]["command"].startswith(f'ml-promote {c.customer_id} {c.challenger_id} "')
    assert block["answer"]["command"] in out
    assert [g["pass"] for g in block["gates"]] == [True] * 6
    assert block["diff"]["verdict"] == "eligible"
    assert block["diff"]["production_id"] == c.production_id  # production/latest resolved
    assert block["production"]["model_id"] == c.production_id and block["production"]["promoted_by"] == "alice"
    assert block["last_promotion"]["action"] == "promote" and block["last_rollback"]["actor"] == "bob"
    assert re.search(r"✓ evaluated within 7 days\s+2 days ago", out), out


def test_without_a_challenger_id_the_newest_evaluated_one_is_taken_and_the_others_listed(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]
    result, out, block = check(sandbox, c.customer_id)
    assert result.exit_code == ExitCode.PASSED, out
    assert block["challenger_id"] == c.challenger_id and block["challenger_given"] is False
    assert [o["model_id"] for o in block["other_challengers"]] == [c.training_id]
    assert "not eligible: status is 'training'" in block["other_challengers"][0]["eligibility"]
    assert f"other challenger: {c.training_id}" in out


@pytest.mark.parametrize(
    "variant, named, words",
    [
        ("stale", True, "would be refused: metrics stale (evaluated 9 days ago; the gate is 7 days)"),
        ("regressing", False, "would be refused: seasonal regression"),
        ("few-windows", True, "would be refused: 8 backtest windows (the gate is 12)"),
    ],
)
def test_a_failing_gate_is_named_and_exits_4(seeded, variant, named, words):
    sandbox, customers = seeded
    c = customers[variant]
    result, out, block = check(sandbox, c.customer_id, *([c.challenger_id] if named else []))
    assert result.exit_code == ExitCode.WOULD_BE_REFUSED == 4, out
    line = block["answer"]["line"]
    assert line.startswith(f"✗ ml-promote {c.customer_id} {c.challenger_id} {words}"), line
    assert block["answer"]["kind"] == "refused" and block["answer"]["command"] == ""
    assert "to promote, type" not in out
    assert [g["gate"] for g in block["gates"] if g["pass"] is False] == [
        {"stale": "evaluated within 7 days", "regressing": "no seasonal regression", "few-windows": "backtest windows"}[
            variant
        ]
    ]


def test_a_diff_that_disagrees_with_the_gates_is_a_warning(seeded):
    sandbox, customers = seeded
    c = customers["stale"]  # the sandbox's /diff compares metrics only: it says eligible
    _result, out, block = check(sandbox, c.customer_id, c.challenger_id)
    assert block["diff"]["verdict"] == "eligible"
    assert block["warnings"] == [
        "the diff says eligible, but metrics stale (evaluated 9 days ago; the gate is 7 "
        "days): the promote gate refuses it"
    ]
    assert "⚠ the diff says eligible, but metrics stale" in out


def test_an_unknown_challenger_is_not_answerable_and_says_what_to_check(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]
    wanted = f"{c.customer_id}/challenger_20990101_000000"
    result, out, block = check(sandbox, c.customer_id, wanted)
    assert result.exit_code == ExitCode.NOT_ANSWERABLE == 5, out
    assert block["answer"]["line"].startswith(
        f"⚠ not answerable for {c.customer_id}: challenger {wanted} is unknown"
    ), block["answer"]
    assert "check the id" in block["answer"]["line"] and c.challenger_id in block["answer"]["line"]


def test_a_bare_challenger_name_gets_a_did_you_mean(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]
    _result, _out, block = check(sandbox, c.customer_id, c.challenger_id.split("/")[-1])
    assert f"did you mean {c.challenger_id}?" in block["answer"]["line"]


def test_a_customer_without_a_registry_is_not_answerable(seeded):
    sandbox, _customers = seeded
    result, out, block = check(sandbox, "acme-nobody")
    assert result.exit_code == 5, out
    assert "customer acme-nobody has no registry" in block["answer"]["line"], block["answer"]
    assert snapshot(sandbox, "acme-nobody") == {}


def test_missing_metrics_are_named(seeded):
    sandbox, _customers = seeded
    c = sandbox.seed_customer("acme-nometrics")
    key = f"model_metrics/{c.customer_id}/{c.challenger_id}/backtest_results.json"
    sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=key)
    result, out, block = check(sandbox, c.customer_id, c.challenger_id)
    assert result.exit_code == 5, out
    assert f"metrics are missing for challenger {c.challenger_id}" in block["answer"]["line"], block["answer"]


def test_an_unresolved_production_latest_alias_would_fail_the_promotion(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]
    result, out, block = check(sandbox, c.customer_id, c.challenger_id, faults=["no-latest-alias"])
    assert result.exit_code == 4, out
    assert "would fail before POST /promote: its ml-diff against" in block["answer"]["line"], block["answer"]
    assert "production/latest" in out


def test_a_failed_gate_runs_no_readiness_request_at_all(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]
    result, out, block = check(sandbox, c.customer_id, c.challenger_id, faults=["bad-token"])
    assert result.exit_code == ExitCode.GATE_FAILED == 3, out
    assert out.rstrip().splitlines()[-1].startswith("✗ Preflight gate failed")
    assert not any(c.customer_id in r.path or c.customer_id in r.query for r in sandbox.request_log)
    assert block["answer"]["kind"] == "unanswerable"


def test_the_json_report_carries_the_readiness_block(seeded, tmp_path):
    sandbox, customers = seeded
    c = customers["few-windows"]
    path = tmp_path / "r.json"
    result, _out, _block = check(sandbox, c.customer_id, c.challenger_id, json_path=str(path))
    data = json.loads(path.read_text())
    block = data["readiness"]
    assert block["customer_id"] == c.customer_id and block["challenger_id"] == c.challenger_id
    windows = next(g for g in block["gates"] if g["gate"] == "backtest windows")
    assert windows == {
        "gate": "backtest windows",
        "value": "8",
        "limit": ">= 12",
        "pass": False,
        "source": "ml-show-metrics",
    }
    assert block["diff"]["verdict"] == block["server_verdict"] == "not_eligible"
    assert block["answer"]["kind"] == "refused" and data["phases"][-1]["id"] == 6


def test_the_zorora_client_is_used_when_asked(seeded, standin_path):
    """The same reads through Zorora's own command classes (the stand-in's, from docs/platform.md, section 1)."""
    sandbox, customers = seeded
    c = customers["eligible"]
    result, out, block = check(sandbox, c.customer_id, c.challenger_id, client="zorora")
    assert result.client == "zorora" and result.exit_code == 0, out
    assert block["answer"]["kind"] == "ready"


def test_a_server_echoing_the_token_never_gets_it_into_the_readiness_block(seeded, tmp_path):
    """A /diff answer that carries the token (a server echoing headers): the JSON report and the console
    show it redacted."""
    sandbox, customers = seeded
    c = customers["eligible"]

    def echo(request, status, text):
        if request.route == "/diff" and status == 200:
            body = json.loads(text)
            body["debug"] = f"Authorization: Bearer {sandbox.token}"
            body["regressions"] = [f"token {sandbox.token}"]
            return status, json.dumps(body)
        return None

    path = tmp_path / "r.json"
    with LyingProxy(sandbox, echo) as proxy:
        result, out = run_engine(
            sandbox, base_url=proxy.url, phases=[0], readiness_for=[c.customer_id], json_path=str(path)
        )
    assert "debug" in result.readiness["diff"]
    assert sandbox.token not in path.read_text() and sandbox.token not in out
    assert sandbox.token not in json.dumps(result.readiness)


def test_an_api_that_reads_another_bucket_is_named(seeded):
    """The API lists nothing for a customer whose registry is in the bucket: not 'no evaluated challenger',
    but the Lambda's OUTPUT_BUCKET (a server that passes every preflight step and still cannot promote)."""
    sandbox, customers = seeded
    c = customers["eligible"]

    def empty(request, status, text):
        if request.route == "/challengers" and c.customer_id in request.query:
            return 200, json.dumps({"customer_id": c.customer_id, "challengers": [], "count": 0})
        return None

    with LyingProxy(sandbox, empty) as proxy:
        result, out = run_engine(sandbox, base_url=proxy.url, phases=[0], readiness_for=[c.customer_id])
    line = result.readiness["answer"]["line"]
    assert result.exit_code == 5, out
    assert "lists 0 challenger(s), the registry in s3://" in line and "holds 2" in line, line
    assert "OUTPUT_BUCKET" in line


@pytest.mark.slow
def test_a_listing_that_differs_from_the_registry_is_a_warning(seeded):
    sandbox, customers = seeded
    c = customers["eligible"]

    def one_less(request, status, text):
        if request.route == "/challengers" and c.customer_id in request.query:
            body = json.loads(text)
            body["challengers"] = [e for e in body["challengers"] if e["model_id"] == c.challenger_id]
            return status, json.dumps(body)
        return None

    with LyingProxy(sandbox, one_less) as proxy:
        result, out = run_engine(sandbox, base_url=proxy.url, phases=[0], readiness_for=[c.customer_id])
    assert result.exit_code == 0, out
    assert any("lists 1 challenger(s)" in w and "holds 2" in w for w in result.readiness["warnings"])
    assert "⚠ ml-list-challengers" in out
