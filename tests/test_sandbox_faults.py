"""Faults: parsing, and each one reproducing the failure mode it names (over real HTTP)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from zorora_e2e_plugin.sandbox import FAULT_HELP, Fault, parse_fault
from zorora_e2e_plugin.sandbox.faults import FAULT_USAGE, FaultSet

# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("stage-prefix", Fault("stage-prefix")),
        (" BAD-TOKEN ", Fault("bad-token")),
        ("missing-route:/diff", Fault("missing-route", "/diff")),
        ("missing-route:diff", Fault("missing-route", "/diff")),
        ("missing-route:/prod/api/v1/audit-log", Fault("missing-route", "/audit-log")),
        ("missing-route:/metrics/{model_id+}", Fault("missing-route", "/metrics")),
        ("latency:100", Fault("latency", 100)),
        ("latency:2.5", Fault("latency", 2.5)),
        ("cold-start:3000", Fault("cold-start", 3000)),
        ("flaky:25", Fault("flaky", 25)),
        ("metrics-non-greedy", Fault("metrics-non-greedy")),
        ("no-latest-alias", Fault("no-latest-alias")),
        ("actor-from-header", Fault("actor-from-header")),
        ("no-audit", Fault("no-audit")),
        ("no-archive", Fault("no-archive")),
        ("error-key:message", Fault("error-key", "message")),
        ("round:1", Fault("round", 1)),
        ("archive-reason:reverted", Fault("archive-reason", "reverted")),
        ("archive-wrapped", Fault("archive-wrapped")),
        ("unknown-id-500", Fault("unknown-id-500")),
        ("throttle:5/10", Fault("throttle", "5/10")),
        ("throttle:2.5/0.5", Fault("throttle", "2.5/0.5")),
    ],
)
def test_parse_fault(text, expected):
    assert parse_fault(text) == expected
    assert parse_fault(str(expected)) == expected  # round-trips
    assert parse_fault(expected) is expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("nonsense", "valid faults: stage-prefix"),
        ("latency", "latency:<ms>"),
        ("latency:", "latency:<ms>"),
        ("latency:soon", "number"),
        ("latency:-5", "0 or more"),
        ("flaky:150", "between 0 and 100"),
        ("flaky:nan", "between 0 and 100"),
        ("missing-route:/nowhere", "valid routes: /challengers"),
        ("stage-prefix:1", "takes no value"),
        ("", "valid faults"),
        ("throttle:5", "throttle:<burst>/<rate>"),
        ("throttle:0/10", "burst of 1 or more"),
        ("round:1.5", "whole number"),
        ("error-key:a b", "needs a word"),
    ],
)
def test_parse_fault_rejects_with_helpful_message(text, fragment):
    with pytest.raises(ValueError) as exc:
        parse_fault(text)
    assert fragment in str(exc.value)


def test_unknown_fault_message_lists_every_fault():
    with pytest.raises(ValueError) as exc:
        parse_fault("nope")
    for usage in FAULT_USAGE.values():
        assert usage in str(exc.value)


def test_fault_help_covers_every_fault_in_one_line():
    assert (
        set(FAULT_HELP)
        == set(FAULT_USAGE)
        == {
            "stage-prefix",
            "bad-token",
            "missing-route",
            "metrics-non-greedy",
            "no-latest-alias",
            "actor-from-header",
            "fixed-actor",
            "no-audit",
            "no-archive",
            "no-rollback-archive",
            "keep-restored-archive",
            "no-gates",
            "latency",
            "cold-start",
            "flaky",
            "html-200",
            "truncated-json",
            "huge-body",
            "hang",
            "noop-promote",
            "noop-rollback",
            "echo-auth",
            "error-key",
            "unknown-id-500",
            "round",
            "archive-wrapped",
            "archive-reason",
            "throttle",
            "ignore-prefix",
            "listing-lag",
            "s3-clock",
            "no-version-delete",
            "lambda-outlives",
            "s3-auth",
        }
    )
    for name, text in FAULT_HELP.items():
        assert text and "\n" not in text
        if FAULT_USAGE[name] != name:  # parameterised: the help shows the syntax
            assert text.startswith(FAULT_USAGE[name] + ": ")


def test_fault_set_accessors():
    fs = FaultSet(["latency:10", "flaky:5", Fault("cold-start", 7), "missing-route:/diff", "missing-route:promote"])
    assert (fs.latency_ms, fs.flaky_pct, fs.cold_start_ms) == (10, 5, 7)
    assert fs.missing_routes == {"/diff", "/promote"}
    assert "latency" in fs and "no-audit" not in fs
    assert FaultSet("no-audit").faults == (Fault("no-audit"),)
    with pytest.raises(ValueError):
        FaultSet(["latency:1", "bogus"])


# ----------------------------------------------------------------------------- live behaviour


@pytest.fixture(scope="module")
def faulty():
    """A sandbox of this module's own, so faults never leak into the shared one."""
    from zorora_e2e_plugin.sandbox import Sandbox

    sandbox = Sandbox(seed=7).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def with_faults(faulty):
    def apply(*faults):
        faulty.set_faults(faults)
        return faulty

    yield apply
    faulty.set_faults(())


@pytest.fixture
def world(faulty, sandbox_make_world):
    return sandbox_make_world(faulty)


@pytest.fixture
def http(faulty, sandbox_make_http):
    return sandbox_make_http(faulty)


def test_set_faults_rejects_bad_input_and_keeps_the_old_ones(faulty, with_faults):
    with_faults("no-audit")
    with pytest.raises(ValueError):
        faulty.set_faults(["no-audit", "bogus"])
    assert faulty.faults == (Fault("no-audit"),)


def test_stage_prefix(with_faults, world, http):
    with_faults("stage-prefix")
    for r in (
        http.get("/challengers", {"customer_id": world.customer_id}),
        http.get(f"/metrics/{world.challenger_id}"),
        http.get("/diff", {"challenger_id": world.challenger_id, "production_id": world.production_id}),
        http.promote(world),
        http.rollback(world),
        http.get("/audit-log", {"customer_id": world.customer_id}),
    ):
        assert r.status_code == 500
        assert r.json() == {"error": "Could not extract customer_id from event"}
    assert http.get("/challengers", {"customer_id": "x"}, token=None).status_code == 401
    assert http.get("/elsewhere").json() == {"message": "Not Found"}
    assert world.registry()["production"]["model_id"] == world.production_id


def test_bad_token(with_faults, http):
    with_faults("bad-token")
    r = http.get("/challengers", {"customer_id": "x"})
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}


def test_missing_route(with_faults, world, http):
    with_faults("missing-route:/diff", "missing-route:rollback")
    r = http.get("/diff", {"challenger_id": world.challenger_id, "production_id": world.production_id})
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}
    r = http.get("/diff", {"challenger_id": world.challenger_id}, token=None)  # the gateway answers before auth
    assert r.status_code == 404
    assert http.rollback(world).status_code == 404
    assert http.get("/challengers", {"customer_id": world.customer_id}).status_code == 200


def test_missing_metrics_route(with_faults, world, http):
    with_faults("missing-route:/metrics")
    assert http.get(f"/metrics/{world.challenger_id}").json() == {"message": "Not Found"}


def test_metrics_non_greedy(with_faults, world, http):
    with_faults("metrics-non-greedy")
    r = http.get(f"/metrics/{world.challenger_id}")
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}
    r = http.get("/metrics/" + quote(world.challenger_id, safe=""))
    assert r.status_code == 404
    assert r.json() == {"error": f"Metrics not found for model {world.challenger_id}"}
    # the object is there all along
    key = f"model_metrics/{world.customer_id}/{world.challenger_id}/backtest_results.json"
    assert world.get_json(key)["backtest"]["mae"] == 41.2


def test_no_latest_alias(with_faults, world, http):
    with_faults("no-latest-alias")
    alias = f"{world.customer_id}/production/latest"
    r = http.get("/diff", {"challenger_id": world.challenger_id, "production_id": alias})
    assert r.status_code == 404
    assert r.json() == {"error": f"Metrics not found for model {alias}"}
    r = http.get("/diff", {"challenger_id": world.challenger_id, "production_id": world.production_id})
    assert r.status_code == 200 and r.json()["verdict"] == "eligible"


def test_actor_from_header(with_faults, world, http):
    with_faults("actor-from-header")
    r = http.promote(world, actor="zorora-validation-bot")  # X-Actor header: "header-actor"
    assert r.status_code == 200
    assert world.registry()["production"]["promoted_by"] == "header-actor"
    assert world.audit_events()[0]["actor"] == "header-actor"


def test_fixed_actor(with_faults, world, http):
    with_faults("fixed-actor")
    r = http.promote(world, actor="zorora-validation-bot")
    assert r.status_code == 200
    assert world.registry()["production"]["promoted_by"] == "ona-globalTrainingService-prod"
    assert world.audit_events()[0]["actor"] == "ona-globalTrainingService-prod"


def test_no_rollback_archive(with_faults, world, http):
    with_faults("no-rollback-archive")
    assert http.promote(world).status_code == 200
    assert http.rollback(world).status_code == 200
    assert world.registry()["production"]["model_id"] == world.production_id
    assert world.archive_keys() == []  # the superseded one was restored and deleted; nothing archived


def test_keep_restored_archive(with_faults, world, http):
    with_faults("keep-restored-archive")
    assert http.promote(world).status_code == 200
    assert http.rollback(world).status_code == 200
    reasons = sorted((a["model_id"], a["archive_reason"]) for a in world.archives())
    assert reasons == sorted([(world.challenger_id, "rolled_back"), (world.production_id, "superseded")])


def test_no_gates(with_faults, world, http):
    with_faults("no-gates")
    world.update_challenger(
        evaluated_at="2020-01-01T00:00:00Z", evaluation_summary={"verdict": "not_eligible", "seasonal_regressions": []}
    )
    assert http.promote(world).status_code == 200
    assert world.registry()["production"]["model_id"] == world.challenger_id


def test_no_audit(with_faults, world, http):
    with_faults("no-audit")
    assert http.promote(world).status_code == 200
    assert http.rollback(world).status_code == 200
    assert http.get("/audit-log", {"customer_id": world.customer_id}).json()["count"] == 0


def test_no_archive(with_faults, world, http):
    with_faults("no-archive")
    assert http.promote(world).status_code == 200
    assert world.archive_keys() == []
    r = http.rollback(world)
    assert r.status_code == 409 and r.json() == {"error": "No archived production model to roll back to"}


def _timed(fn):
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


@pytest.mark.slow
def test_latency_applies_to_public_api_and_s3_only(faulty, with_faults, world, http):
    import boto3

    public = boto3.client(
        "s3",
        endpoint_url=faulty.s3_endpoint_url,
        region_name=faulty.region,
        aws_access_key_id=faulty.access_key_id,
        aws_secret_access_key=faulty.secret_access_key,
    )
    public.head_bucket(Bucket=faulty.bucket)  # warm the connection
    # 500 ms: a delayed internal S3 read would add another 500 ms, far more than a loaded machine's noise
    with_faults("latency:500")
    r, took = _timed(lambda: http.get("/challengers", {"customer_id": world.customer_id}))
    assert r.status_code == 200 and took >= 0.5
    assert took < 0.95, "the Lambda's own S3 calls (internal listener) must not be delayed"
    _, took = _timed(lambda: public.head_bucket(Bucket=faulty.bucket))
    assert took >= 0.5
    _, took = _timed(lambda: world.s3.head_bucket(Bucket=faulty.bucket))
    assert took < 0.45
    public.close()


@pytest.mark.slow
def test_cold_start_delays_only_the_first_request(with_faults, http):
    with_faults("cold-start:800")  # far above a loaded machine's noise for the second request
    r, first = _timed(lambda: http.get("/challengers", {"customer_id": "x"}))
    assert r.status_code == 200 and first >= 0.8
    _, second = _timed(lambda: http.get("/challengers", {"customer_id": "x"}))
    assert second < 0.7


def test_flaky_all_and_some(with_faults, http):
    with_faults("flaky:100")
    r = http.get("/challengers", {"customer_id": "x"})
    assert r.status_code == 503 and r.json() == {"message": "Service Unavailable"}
    with_faults("flaky:50")
    statuses = [http.get("/challengers", {"customer_id": "x"}).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    with_faults("flaky:0")
    assert http.get("/challengers", {"customer_id": "x"}).status_code == 200


@pytest.mark.slow
def test_flaky_is_reproducible_with_a_seed():
    import requests

    from zorora_e2e_plugin.sandbox import Sandbox

    runs = []
    for _ in range(2):
        with Sandbox(seed=99, faults=["flaky:50"]) as sb:
            with requests.Session() as s:
                runs.append(
                    [
                        s.get(
                            sb.api_url + "/challengers",
                            params={"customer_id": "x"},
                            headers={"Authorization": f"Bearer {sb.token}"},
                        ).status_code
                        for _ in range(12)
                    ]
                )
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


# ----------------------------------------------------------------------------- legitimate variants (issue 16)


def test_error_key_moves_the_lambdas_error_text_not_api_gateways(with_faults, world, http):
    with_faults("error-key:message")
    r = http.get(f"/metrics/{world.customer_id}/unknown")
    assert r.status_code == 404 and r.json() == {"message": f"Metrics not found for model {world.customer_id}/unknown"}
    assert http.get("/challengers").json() == {"message": "customer_id is required"}
    assert http.get("/elsewhere").json() == {"message": "Not Found"}


def test_unknown_id_500_is_api_gateways_answer_for_a_crashed_lambda(with_faults, world, http):
    with_faults("unknown-id-500")
    r = http.get(f"/metrics/{world.customer_id}/unknown")
    assert r.status_code == 500 and r.json() == {"message": "Internal Server Error"}
    assert http.get(f"/metrics/{world.challenger_id}").status_code == 200
    assert http.get("/challengers").status_code == 400  # other refusals stay the Lambda's


def test_round_rounds_the_diffs_percentages(with_faults, world, http):
    with_faults("round:1")
    r = http.get("/diff", {"challenger_id": world.challenger_id, "production_id": world.production_id})
    assert r.json()["improvement"] == {"mae_pct": 8.4, "rmse_pct": 6.1}


def test_archive_variants_change_the_document_and_rollback_still_restores(with_faults, world, http):
    with_faults("archive-wrapped", "archive-reason:reverted")
    assert http.promote(world).status_code == 200
    [superseded] = world.archives()
    assert set(superseded) == {"archived_at", "archive_reason", "entry"}
    assert superseded["entry"]["model_id"] == world.production_id
    assert http.rollback(world).status_code == 200
    assert world.registry()["production"]["model_id"] == world.production_id
    [rolled] = world.archives()
    assert rolled["archive_reason"] == "reverted" and rolled["entry"]["model_id"] == world.challenger_id


def test_throttle_answers_429_beyond_the_burst(with_faults, http):
    with_faults("throttle:2/0.1")
    statuses = [http.get("/challengers", {"customer_id": "x"}).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429]
    assert http.get("/challengers", {"customer_id": "x"}).json() == {"message": "Too Many Requests"}
