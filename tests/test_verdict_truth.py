"""The verdict tells the truth (issue 8): no false green, no false red.

Each false green has a server that lies in exactly that way (a sandbox fault, or a proxy in front of the
sandbox) and the run must fail naming the step; the same run without the lie passes, so the lie is what
fails it. Each false red is a legitimate server variant the run must pass against.
"""

from __future__ import annotations

import json

import pytest
from helpers.engine import run_engine, zorora_standin
from helpers.lying_proxy import LyingProxy
from helpers.results import failed, flat, objects_of, step

from zorora_e2e_plugin.core.outcomes import FAIL, FAILED, GATE_FAILED, PASS, PASSED, WARN
from zorora_e2e_plugin.plan.seed_data import PROBE_REASON
from zorora_e2e_plugin.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket="zorora-e2e-truth") as sb:
        yield sb


@pytest.fixture
def standin_zorora(monkeypatch):
    with zorora_standin(monkeypatch):
        yield


def run(sandbox, faults=(), proxy=None, **flags):
    return run_engine(sandbox, faults, base_url=proxy.url if proxy is not None else None, **flags)


def passes_cleanly(result, text, sandbox):
    assert result.verdict == PASSED, text
    assert {s.status for s in result.steps} == {PASS}, text
    assert objects_of(sandbox, result.customer_id) == []


# ----------------------------------------------------------------------------- false green 1: the rollback's archive


@pytest.mark.parametrize("lie", [False, True], ids=["honest", "rollback-archives-nothing"])
def test_a_rollback_that_archives_nothing_fails_3_3(sandbox, lie):
    result, text = run(sandbox, ["no-rollback-archive"] if lie else [])
    if not lie:
        return passes_cleanly(result, text, sandbox)
    assert failed(result) == ["3.3"], text
    assert "did not archive the one it replaced" in flat(step(result, "3.3"))
    assert objects_of(sandbox, result.customer_id) == []


@pytest.mark.slow
def test_a_rollback_archived_under_another_reason_warns_in_3_3(sandbox):
    """The archive's content is the sandbox's assumption (issue 16 item 4): a proxy rewrites the archive in S3
    right after the rollback answered (as a Lambda writing 'superseded' for everything would); the archive
    exists by key, so 3.3 passes with a warning naming archive_reason."""
    s3 = sandbox.s3_client()

    def lie(request, status, body):
        if request.route == "/rollback" and status == 200:
            customer = request.body["customer_id"]
            for obj in s3.list_objects_v2(Bucket=sandbox.bucket, Prefix=f"customer_tailored/{customer}/archived/").get(
                "Contents", []
            ):
                doc = json.loads(s3.get_object(Bucket=sandbox.bucket, Key=obj["Key"])["Body"].read())
                if doc.get("archive_reason") == "rolled_back":
                    doc["archive_reason"] = "superseded"
                    s3.put_object(Bucket=sandbox.bucket, Key=obj["Key"], Body=json.dumps(doc).encode())
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run(sandbox, proxy=proxy)
    assert result.verdict == PASSED and failed(result) == [], text
    assert step(result, "3.3").status == WARN, text
    assert "archive_reason = 'superseded'" in flat(step(result, "3.3"))
    assert objects_of(sandbox, result.customer_id) == []


def test_the_restored_superseded_archive_may_stay(sandbox):
    """The function's IAM policy has no s3:DeleteObject: keeping the restored archive is not a failure,
    only a detail in 3.3."""
    result, text = run(sandbox, ["keep-restored-archive"])
    passes_cleanly(result, text, sandbox)
    assert "still there" in step(result, "3.3").actual


# ----------------------------------------------------------------------------- false green 2: the diff's numbers


def _diff_lie(mae, rmse):
    def lie(request, status, body):
        if request.route == "/diff" and status == 200:
            data = json.loads(body)
            data["improvement"] = {"mae_pct": mae, "rmse_pct": rmse}
            return status, json.dumps(data)
        return None

    return lie


@pytest.mark.slow
@pytest.mark.parametrize(
    "mae, rmse, ok",
    [
        (None, None, True),  # the honest proxy
        (8.444444, 6.060606, True),  # unrounded is as right as 8.44 / 6.06
        (8.4, 6.1, True),  # rounded to 1 dp, as the registry's evaluation_summary holds them (issue 16 item 3)
        (8, 6, True),  # rounded to whole percents
        (9.2, 6.06, WARN),  # within a point: another rounding or formula, a warning
        ("8.44", "6.06", WARN),  # numbers as text: a warning
        (900, 6.06, False),  # "> 5" is not a check
        (1.0, 6.06, False),  # contradicts the fixture
        (8.44, 60.6, False),
    ],
)
def test_diff_numbers_are_checked_against_the_test_world(sandbox, mae, rmse, ok):
    with LyingProxy(sandbox, None if mae is None else _diff_lie(mae, rmse)) as proxy:
        result, text = run(sandbox, proxy=proxy)
    if ok == WARN:
        assert result.verdict == PASSED and failed(result) == [], text
        assert step(result, "2.4").status == WARN and f"mae_pct = {mae!r}" in step(result, "2.4").actual, text
        return
    if ok:
        return passes_cleanly(result, text, sandbox)
    assert failed(result) == ["2.4"], text
    assert "(production - challenger) / production" in step(result, "2.4").hint


# ----------------------------------------------------------------------------- false green 3: wrong-shaped answers


def _wrap_lie(route):
    def lie(request, status, body):
        if request.method == "GET" and request.route == route and 200 <= status < 300:
            return status, "[" + body + "]"
        return None

    return lie


@pytest.mark.slow
@pytest.mark.parametrize(
    "route, first", [("/metrics", "2.2"), ("/diff", "2.4"), ("/audit-log", "2.5"), ("/challengers", "0.1")]
)
def test_answers_wrapped_in_an_array_fail_alike_with_either_client(sandbox, standin_zorora, route, first):
    outcomes = {}
    for client in ("direct", "zorora"):
        with LyingProxy(sandbox, _wrap_lie(route)) as proxy:
            result, text = run(sandbox, proxy=proxy, client=client)
        assert result.client == client
        assert first in failed(result), (client, text)
        assert "not one object" in step(result, first).hint or "not an object" in flat(step(result, first)), text
        assert objects_of(sandbox, result.customer_id) == []
        outcomes[client] = failed(result)
    assert outcomes["direct"] == outcomes["zorora"]


@pytest.mark.slow
def test_the_honest_proxy_passes_with_zorora_classes(sandbox, standin_zorora):
    with LyingProxy(sandbox) as proxy:
        result, text = run(sandbox, proxy=proxy, client="zorora")
    assert result.client == "zorora"
    passes_cleanly(result, text, sandbox)


# ----------------------------------------------------------------------------- false reds: the actor, status codes


@pytest.mark.parametrize("variant", [[], ["actor-from-header"]], ids=["body-first", "header-first"])
def test_both_actor_variants_pass_whoever_the_repl_user_is(sandbox, monkeypatch, variant):
    monkeypatch.setenv("ZORORA_ACTOR", "alice-the-repl-user")
    monkeypatch.setenv("USER", "alice")
    result, text = run(sandbox, variant)
    passes_cleanly(result, text, sandbox)


def test_a_third_actor_fails_3_1_naming_it(sandbox):
    result, text = run(sandbox, ["fixed-actor"])
    assert failed(result) == ["3.1"], text
    hint = step(result, "3.1").hint
    assert "'ona-globalTrainingService-prod'" in hint and "neither the body's 'actor' nor the X-Actor" in hint


def _status_lie(request, status, body):
    """Every refusal of the Lambda (not the token's) answered 422 instead of 400/404/409."""
    if 400 <= status < 500 and status not in (401, 403) and '"error"' in body:
        return 422, body
    return None


@pytest.mark.slow
def test_rejections_are_judged_by_source_and_content_not_by_one_status_code(sandbox):
    with LyingProxy(sandbox, _status_lie) as proxy:
        result, text = run(sandbox, proxy=proxy)
    passes_cleanly(result, text, sandbox)
    assert "HTTP 422" in step(result, "4.3").actual and "HTTP 422" in step(result, "4.6").actual


# ----------------------------------------------------------------------------- the preflight proves every route


@pytest.mark.parametrize(
    "fault, named",
    [
        ("missing-route:/metrics", "GET /metrics/{model_id+}"),
        ("missing-route:/diff", "GET /diff"),
        ("missing-route:/audit-log", "GET /audit-log"),
        ("missing-route:/promote", "POST /promote"),
        ("missing-route:/rollback", "POST /rollback"),
        ("metrics-non-greedy", "not greedy"),
        ("stage-prefix", "stage prefix"),
    ],
)
def test_the_preflight_fails_for_a_route_the_promotion_needs(sandbox, fault, named):
    result, text = run(sandbox, [fault], phases=[0])
    assert (result.verdict, result.exit_code) == (GATE_FAILED, 3), text
    assert failed(result) == ["0.5"], text
    assert named in flat(step(result, "0.5"))
    assert objects_of(sandbox, result.customer_id) == []


def test_missing_challengers_route_fails_the_preflight_in_0_1(sandbox):
    result, text = run(sandbox, ["missing-route:/challengers"], phases=[0])
    assert result.exit_code == 3 and "0.1" in failed(result), text


def test_two_missing_routes_are_both_named_with_the_fix(sandbox):
    result, text = run(sandbox, ["missing-route:/promote", "missing-route:/diff"], phases=[0])
    got = flat(step(result, "0.5"))
    assert "GET /diff, POST /promote" in got and "deploy them" in step(result, "0.5").hint
    assert step(result, "0.5").diagnosis["id"] == "ZE-ROUTE-001"  # "them" for "it" once lost the id (ZE-CHECK-000)


def _acts_lie(sandbox):
    s3 = sandbox.s3_client()

    def lie(request, status, body):
        if request.route == "/promote" and (request.body or {}).get("reason") == PROBE_REASON:
            customer = request.body["customer_id"]
            s3.put_object(
                Bucket=sandbox.bucket,
                Key=f"audit_logs/{customer}/events.json",
                Body=json.dumps({"customer_id": customer, "events": [{"action": "promote"}]}).encode(),
            )
            return 200, json.dumps({"message": "Model promoted"})
        return None

    return lie


def test_a_server_that_acts_on_the_probe_fails_the_gate_and_is_cleaned_up(sandbox):
    with LyingProxy(sandbox, _acts_lie(sandbox)) as proxy:
        result, text = run(sandbox, proxy=proxy, phases=[0])
    assert (result.verdict, result.exit_code) == (GATE_FAILED, 3), text
    got = flat(step(result, "0.5"))
    assert "ACCEPTED POST /promote" in got and "acts without validating" in got
    assert [s.id for s in result.steps if s.phase == 5] == ["5.1", "5.2"]
    assert result.cleanup.deleted >= 1 and result.cleanup.leftover == []
    assert objects_of(sandbox, result.customer_id) == []


def test_a_server_that_writes_for_a_refused_probe_is_a_finding_and_cleaned_up(sandbox):
    s3 = sandbox.s3_client()

    def lie(request, status, body):
        if request.route == "/rollback" and status == 400:
            customer = request.body["customer_id"]
            s3.put_object(
                Bucket=sandbox.bucket,
                Key=f"audit_logs/{customer}/events.json",
                Body=b'{"events": [{"action": "rollback", "outcome": "refused"}]}',
            )
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run(sandbox, proxy=proxy)
    assert (result.verdict, result.exit_code) == (GATE_FAILED, 3), text
    assert failed(result) == ["0.5"]
    assert f"audit_logs/{result.customer_id}/events.json" in step(result, "0.5").actual
    assert "removed by the cleanup" in step(result, "0.5").actual
    assert objects_of(sandbox, result.customer_id) == [] and result.cleanup.leftover == []


# ----------------------------------------------------------------------------- gates hold on the server


def test_a_gate_less_server_fails_the_gate_step_and_leaves_nothing(sandbox):
    result, text = run(sandbox, ["no-gates"])
    assert result.verdict == FAILED, text
    assert "4.6" in failed(result)
    assert "the server promoted a challenger that fails its gates" in step(result, "4.6").actual
    assert "rolled back: HTTP 200" in step(result, "4.6").actual
    assert result.cleanup.leftover == [] and objects_of(sandbox, result.customer_id) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "answer",
    [
        (
            409,
            {
                "error": "Challenger does not meet promotion gates",
                "failed_gates": ["concurrent promotion in progress for customer"],
            },
        ),
        (404, {"error": "Challenger not found"}),
        (400, {"error": "bad request"}),
        (404, {"message": "Not Found"}),
    ],
    ids=["busy", "unknown", "vague", "gateway"],
)
def test_a_refusal_that_names_no_gate_does_not_prove_the_gates(sandbox, answer):
    def lie(request, status, body):
        if request.route == "/promote" and "fails its gates" in str((request.body or {}).get("reason")):
            return answer[0], json.dumps(answer[1])
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run(sandbox, proxy=proxy)
    assert failed(result) == ["4.6"], text
    assert objects_of(sandbox, result.customer_id) == []


def test_the_gate_step_names_the_failed_gates(sandbox):
    result, text = run(sandbox)
    passes_cleanly(result, text, sandbox)
    assert "metrics stale" in step(result, "4.6").actual and "not_eligible" in step(result, "4.6").actual


# ----------------------------------------------------------------------------- 3.2, asked beside 3.1's S3 reads


@pytest.mark.slow
@pytest.mark.parametrize(
    "answer, named",
    [((200, '{"events": [], "count": 0}'), "count = 0"), ((500, '{"message": "Internal server error"}'), "HTTP 500")],
)
def test_an_audit_log_that_misses_the_promotion_is_3_2s_finding_not_3_1s(sandbox, answer, named):
    promoted = []

    def lie(request, status, body):
        if request.method == "POST" and request.route == "/promote" and status == 200:
            promoted.append(True)
        if request.method == "GET" and request.route == "/audit-log" and promoted:  # only 3.2's asks after it
            return answer
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run(sandbox, proxy=proxy)
    assert step(result, "3.1").status == PASS, text
    assert step(result, "3.2").status in (WARN, FAIL) and named in flat(step(result, "3.2")), text
    assert step(result, "3.3").status == PASS, text
    assert objects_of(sandbox, result.customer_id) == []


@pytest.mark.slow
def test_an_audit_log_answer_the_validator_cannot_parse_stays_3_2s_finding(sandbox):
    """Before 3.2's ml-audit-log went out beside 3.1's S3 reads, any error it raised was 3.2's (a warning: 3.2
    is not critical; 3.3's rollback still ran). A 2xx body nested deeper than the JSON parser's recursion
    limit raises RecursionError inside the parser: it must still land on 3.2, not fail the promotion (3.1)
    and skip the rollback; and it is the API's answer that does not parse (issue 29 item 9), not the validator's
    error."""
    promoted = []

    def lie(request, status, body):
        if request.method == "POST" and request.route == "/promote" and status == 200:
            promoted.append(True)
        if request.method == "GET" and request.route == "/audit-log" and promoted:
            return 200, "[" * 100000
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run(sandbox, proxy=proxy)
    assert step(result, "3.1").status == PASS, text
    assert step(result, "3.2").status in (WARN, FAIL), text
    assert step(result, "3.2").diagnosis["id"] == "ZE-LAMBDA-015" and not step(result, "3.2").traceback, text
    assert step(result, "3.3").status == PASS, text
    assert objects_of(sandbox, result.customer_id) == []
