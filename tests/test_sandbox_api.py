"""The sandbox API over real loopback HTTP and the real S3 protocol: routes, shapes, gates, state."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from datetime import timedelta
from urllib.parse import quote

import pytest

ACTOR = "zorora-validation-bot"


# ----------------------------------------------------------------------------- Phase 2 (read-only)


def test_2_1_list_challengers(sandbox_world, sandbox_http):
    r = sandbox_http.get("/challengers", {"customer_id": sandbox_world.customer_id})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    data = r.json()
    assert set(data) == {"customer_id", "challengers", "count"}
    assert data["customer_id"] == sandbox_world.customer_id
    assert data["count"] == 1 and len(data["challengers"]) == 1
    assert data["challengers"][0]["model_id"] == sandbox_world.challenger_id
    assert data["challengers"][0]["status"] == "evaluated"


def test_unknown_customer_has_no_challengers_and_no_events(sandbox_http):
    r = sandbox_http.get("/challengers", {"customer_id": "x"})
    assert r.status_code == 200
    assert r.text == '{"customer_id":"x","challengers":[],"count":0}'
    r = sandbox_http.get("/audit-log", {"customer_id": "nobody-here"})
    assert r.status_code == 200
    assert r.json() == {"customer_id": "nobody-here", "events": [], "count": 0}


@pytest.mark.parametrize("route", ["/challengers", "/audit-log"])
@pytest.mark.parametrize("params", [None, {"customer_id": ""}, {"other": "x"}])
def test_missing_customer_id_is_400(sandbox_http, route, params):
    r = sandbox_http.get(route, params)
    assert r.status_code == 400
    assert r.json() == {"error": "customer_id is required"}


def test_2_2_and_2_3_show_metrics(sandbox_world, sandbox_http):
    r = sandbox_http.get(f"/metrics/{sandbox_world.challenger_id}")
    assert r.status_code == 200
    data = r.json()
    assert data["model_id"] == sandbox_world.challenger_id
    assert data["metrics"]["backtest"] == {"mae": 41.2, "rmse": 58.9, "bias": -1.3, "windows": 12}
    # production: found through the registry entry's metrics_ref (its default key does not exist)
    r = sandbox_http.get(f"/metrics/{sandbox_world.production_id}")
    assert r.status_code == 200
    assert r.json()["model_id"] == sandbox_world.production_id
    assert r.json()["metrics"]["backtest"]["mae"] == 45.0
    assert r.json()["metrics"]["backtest"]["rmse"] == 62.7


def test_metrics_accepts_url_encoded_ids(sandbox_world, sandbox_http):
    for model_id in (sandbox_world.challenger_id, sandbox_world.production_id):
        r = sandbox_http.get("/metrics/" + quote(model_id, safe=""))
        assert "%2F" in r.request.path_url
        assert r.status_code == 200, r.text
        assert r.json()["model_id"] == model_id


def test_metrics_unknown_is_404_with_message(sandbox_world, sandbox_http):
    r = sandbox_http.get(f"/metrics/{sandbox_world.customer_id}/unknown")
    assert r.status_code == 404
    assert r.json() == {"error": f"Metrics not found for model {sandbox_world.customer_id}/unknown"}


def test_metrics_default_key_when_no_metrics_ref(sandbox_world, sandbox_http):
    registry = sandbox_world.registry()
    del registry["production"]["metrics_ref"]
    sandbox_world.put_json(sandbox_world.registry_key, registry)
    assert sandbox_http.get(f"/metrics/{sandbox_world.production_id}").status_code == 404
    sandbox_world.put_json(
        f"model_metrics/{sandbox_world.customer_id}/{sandbox_world.production_id}/backtest_results.json",
        {"backtest": {"mae": 1.0, "rmse": 2.0, "windows": 12}},
    )
    assert sandbox_http.get(f"/metrics/{sandbox_world.production_id}").json()["metrics"]["backtest"]["mae"] == 1.0


def test_metrics_ref_wins_over_default_key(sandbox_world, sandbox_http):
    sandbox_world.put_json(f"elsewhere/{sandbox_world.customer_id}.json", {"backtest": {"mae": 7.0}})
    sandbox_world.update_challenger(
        metrics_ref=f"s3://{sandbox_world.bucket}/elsewhere/{sandbox_world.customer_id}.json"
    )
    r = sandbox_http.get(f"/metrics/{sandbox_world.challenger_id}")
    assert r.json()["metrics"] == {"backtest": {"mae": 7.0}}


def test_2_4_diff(sandbox_world, sandbox_http):
    r = sandbox_http.get(
        "/diff", {"challenger_id": sandbox_world.challenger_id, "production_id": sandbox_world.production_id}
    )
    assert r.status_code == 200
    assert r.json() == {
        "challenger_id": sandbox_world.challenger_id,
        "production_id": sandbox_world.production_id,
        "verdict": "eligible",
        "improvement": {"mae_pct": 8.44, "rmse_pct": 6.06},
        "regressions": [],
    }


def test_diff_resolves_production_latest_alias(sandbox_world, sandbox_http):
    alias = f"{sandbox_world.customer_id}/production/latest"
    r = sandbox_http.get("/diff", {"challenger_id": sandbox_world.challenger_id, "production_id": alias})
    assert r.status_code == 200
    assert r.json()["production_id"] == sandbox_world.production_id
    assert r.json()["verdict"] == "eligible"


def test_diff_alias_for_customer_without_production_is_404(sandbox_http):
    r = sandbox_http.get("/diff", {"challenger_id": "ghost/challenger_1", "production_id": "ghost/production/latest"})
    assert r.status_code == 404
    assert "ghost/production/latest" in r.json()["error"]


@pytest.mark.parametrize("missing", ["challenger_id", "production_id"])
def test_diff_missing_param_is_400(sandbox_world, sandbox_http, missing):
    params = {"challenger_id": sandbox_world.challenger_id, "production_id": sandbox_world.production_id}
    del params[missing]
    r = sandbox_http.get("/diff", params)
    assert r.status_code == 400
    assert r.json() == {"error": f"{missing} is required"}


def test_diff_unknown_challenger_is_404(sandbox_world, sandbox_http):
    r = sandbox_http.get("/diff", {"challenger_id": "nope/challenger_x", "production_id": sandbox_world.production_id})
    assert r.status_code == 404
    assert r.json() == {"error": "Metrics not found for model nope/challenger_x"}


@pytest.mark.parametrize(
    "backtest, regression",
    [
        ({"mae": 47.0, "rmse": 58.9, "bias": 0, "windows": 12}, "mae worse: 45 -> 47"),
        ({"mae": 41.2, "rmse": 58.9, "bias": 0, "windows": 8}, None),
        ({"mae": 44.5, "rmse": 62.0, "bias": 0, "windows": 12}, None),
    ],
    ids=["regression", "few-windows", "small-improvement"],
)
def test_diff_not_eligible(sandbox_world, sandbox_http, backtest, regression):
    sandbox_world.set_challenger_metrics(backtest)
    r = sandbox_http.get(
        "/diff", {"challenger_id": sandbox_world.challenger_id, "production_id": sandbox_world.production_id}
    )
    assert r.status_code == 200
    assert r.json()["verdict"] == "not_eligible"
    if regression:
        assert regression in r.json()["regressions"]


def test_diff_reports_seasonal_regressions(sandbox_world, sandbox_http):
    summary = sandbox_world.registry()["challengers"][0]["evaluation_summary"]
    summary["seasonal_regressions"] = ["winter"]
    sandbox_world.update_challenger(evaluation_summary=summary)
    r = sandbox_http.get(
        "/diff", {"challenger_id": sandbox_world.challenger_id, "production_id": sandbox_world.production_id}
    )
    assert r.json()["verdict"] == "not_eligible"
    assert r.json()["regressions"] == ["seasonal: winter"]


def test_2_5_audit_log_initially_empty(sandbox_world, sandbox_http):
    r = sandbox_http.get("/audit-log", {"customer_id": sandbox_world.customer_id})
    assert r.status_code == 200
    assert r.json() == {"customer_id": sandbox_world.customer_id, "events": [], "count": 0}


# ----------------------------------------------------------------------------- auth and routing


ROUTES = [
    ("GET", "/challengers?customer_id=x"),
    ("GET", "/metrics/x/challenger_1"),
    ("GET", "/diff?challenger_id=a/b&production_id=a/production/latest"),
    ("POST", "/promote"),
    ("POST", "/rollback"),
    ("GET", "/audit-log?customer_id=x"),
]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Bearer ", "Basic {token}", "{token}", "bearer {token}x"])
def test_bad_or_missing_token_is_401(sandbox_instance, method, path, auth):
    import requests

    headers = {} if auth is None else {"Authorization": auth.format(token=sandbox_instance.token)}
    r = requests.request(
        method, sandbox_instance.api_url + path, headers=headers, json={"customer_id": "x"}, timeout=10
    )
    assert r.status_code == 401
    assert r.json() == {"error": "Unauthorized"}
    assert sandbox_instance.token not in r.text
    assert all(sandbox_instance.token not in v for v in r.headers.values())


def test_bearer_scheme_is_case_insensitive(sandbox_instance):
    import requests

    r = requests.get(
        sandbox_instance.api_url + "/challengers",
        params={"customer_id": "x"},
        headers={"Authorization": f"bearer {sandbox_instance.token}"},
        timeout=10,
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/prod/api/v1/nope"),
        ("GET", "/prod/api/v1/promote"),
        ("POST", "/prod/api/v1/challengers"),
        ("DELETE", "/prod/api/v1/rollback"),
        ("GET", "/prod/api/v1/metrics"),
        ("GET", "/prod/api/v1/metrics/"),
        ("GET", "/prod/api/v1/challengers/extra"),
        ("GET", "/api/v1/challengers"),
        ("GET", "/staging/api/v1/challengers"),
        ("GET", "/prod/api/v2/challengers"),
        ("GET", "/"),
    ],
)
def test_unknown_routes_are_api_gateway_404(sandbox_instance, method, path):
    import requests

    base = sandbox_instance.api_url.split("/prod/")[0]
    r = requests.request(method, base + path, headers={"Authorization": f"Bearer {sandbox_instance.token}"}, timeout=10)
    assert r.status_code == 404
    assert r.json() == {"message": "Not Found"}


# ----------------------------------------------------------------------------- Phase 3: promote


def test_3_1_promote(sandbox_world, sandbox_http):
    before = sandbox_world.registry()
    r = sandbox_http.promote(sandbox_world, actor=ACTOR)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"message", "customer_id", "model_id", "previous_model_id", "promoted_at", "request_id"}
    assert data["message"] == "Model promoted"
    assert data["customer_id"] == sandbox_world.customer_id
    assert data["model_id"] == sandbox_world.challenger_id
    assert data["previous_model_id"] == sandbox_world.production_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["promoted_at"])
    assert data["request_id"]

    registry = sandbox_world.registry()
    assert registry["production"]["model_id"] == sandbox_world.challenger_id
    assert registry["production"]["promoted_at"] == data["promoted_at"]
    assert registry["production"]["promoted_by"] == ACTOR  # body actor, not the X-Actor header
    assert registry["challengers"] == []

    archives = sandbox_world.archive_keys()
    assert len(archives) == 1
    prefix = f"customer_tailored/{sandbox_world.customer_id}/archived/{sandbox_world.production_id}_"
    assert archives[0].startswith(prefix)
    assert re.fullmatch(r"\d{8}_\d{6}\.json", archives[0][len(prefix) :])
    archived = sandbox_world.get_json(archives[0])
    assert archived == {
        **before["production"],
        "archived_at": archived["archived_at"],
        "archive_reason": "superseded",
    }
    assert archives[0].endswith(
        archived["archived_at"].replace("-", "").replace(":", "").replace("T", "_")[:-1] + ".json"
    )

    events = sandbox_world.audit_events()
    assert events == [
        {
            "timestamp": data["promoted_at"],
            "actor": ACTOR,
            "action": "promote",
            "model_id": sandbox_world.challenger_id,
            "reason": "End-to-end validation test promotion",
            "request_id": data["request_id"],
        }
    ]
    # 3.2
    r = sandbox_http.get("/audit-log", {"customer_id": sandbox_world.customer_id})
    assert r.json()["count"] == 1 and r.json()["events"][0]["action"] == "promote"
    # no lock object left behind
    assert not [k for k in sandbox_world.keys(f"customer_tailored/{sandbox_world.customer_id}/") if k.endswith(".lock")]


def test_a_quick_rollback_archives_no_later_than_its_rollback_at(sandbox_world, sandbox_http):
    """One timestamp per request: promote and rollback within the same second must not stamp the rollback's
    archive a second after the rollback itself."""
    from zorora_e2e_plugin.sandbox.rules import parse_iso

    for _ in range(3):  # promote + rollback, again and again, as fast as they go
        assert sandbox_http.promote(sandbox_world).status_code == 200
        r = sandbox_http.rollback(sandbox_world)
        assert r.status_code == 200, r.text
        rolled = [a for a in sandbox_world.archives() if a["archive_reason"] == "rolled_back"]
        newest = max(rolled, key=lambda a: parse_iso(a["archived_at"]))
        assert parse_iso(newest["archived_at"]) <= parse_iso(r.json()["rollback_at"]), (newest, r.json())
        assert sandbox_world.registry()["production"]["rollback_at"] == r.json()["rollback_at"]
        registry = sandbox_world.registry()
        registry["challengers"] = [newest | {"status": "evaluated"}]
        for field in ("archived_at", "archive_reason", "promoted_at", "promoted_by"):
            registry["challengers"][0].pop(field, None)
        sandbox_world.put_json(sandbox_world.registry_key, registry)


def test_the_promotion_lock_lives_outside_the_customers_prefixes(sandbox_world, sandbox_http, sandbox_instance):
    """The run sees what the real bucket would hold: the sandbox's lock is never under the customer's prefixes,
    not even while a promotion holds it."""
    from zorora_e2e_plugin.sandbox.rules import lock_key

    assert not lock_key(sandbox_world.customer_id).startswith(
        tuple(f"{top}{sandbox_world.customer_id}/" for top in ("customer_tailored/", "model_metrics/", "audit_logs/"))
    )
    seen = []
    original = sandbox_instance._servers.api.config.s3.put_object if hasattr(sandbox_instance._servers, "api") else None
    assert original is not None

    def spy(**kwargs):
        seen.append(kwargs["Key"])
        return original(**kwargs)

    sandbox_instance._servers.api.config.s3.put_object = spy
    try:
        assert sandbox_http.promote(sandbox_world).status_code == 200
    finally:
        del sandbox_instance._servers.api.config.s3.put_object
    assert any(k.endswith("promotion.lock") for k in seen), seen
    assert not [
        k
        for k in seen
        if k.endswith(".lock") and sandbox_world.customer_id + "/" in k and not k.startswith("sandbox-locks/")
    ]


def test_promote_actor_falls_back_to_x_actor_header(sandbox_world, sandbox_http):
    body = {
        "customer_id": sandbox_world.customer_id,
        "model_id": sandbox_world.challenger_id,
        "reason": "a reason long enough",
    }
    r = sandbox_http.post("/promote", body, actor="repl-user")
    assert r.status_code == 200
    assert sandbox_world.registry()["production"]["promoted_by"] == "repl-user"
    assert sandbox_world.audit_events()[0]["actor"] == "repl-user"


def test_3_3_rollback(sandbox_world, sandbox_http):
    assert sandbox_http.promote(sandbox_world).status_code == 200
    r = sandbox_http.rollback(sandbox_world, actor=ACTOR)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"message", "customer_id", "model_id", "rolled_back_model_id", "rollback_at", "request_id"}
    assert data["message"] == "Rolled back"
    assert data["model_id"] == sandbox_world.production_id
    assert data["rolled_back_model_id"] == sandbox_world.challenger_id
    registry = sandbox_world.registry()
    assert registry["production"]["model_id"] == sandbox_world.production_id
    assert registry["production"]["rollback_at"] == data["rollback_at"]
    assert registry["production"]["metrics_ref"].endswith("backtest_results.json")
    assert "archived_at" not in registry["production"] and "archive_reason" not in registry["production"]
    archives = sandbox_world.archives()
    assert [(a["model_id"], a["archive_reason"]) for a in archives] == [(sandbox_world.challenger_id, "rolled_back")]
    events = sandbox_world.audit_events()
    assert len(events) == 2
    assert events[-1]["action"] == "rollback" and events[-1]["actor"] == ACTOR
    assert events[-1]["request_id"] == data["request_id"]
    # the restored production's metrics are still reachable, and nothing is left to roll back to
    assert sandbox_http.get(f"/metrics/{sandbox_world.production_id}").status_code == 200
    r = sandbox_http.rollback(sandbox_world)
    assert r.status_code == 409
    assert r.json() == {"error": "No archived production model to roll back to"}
    assert len(sandbox_world.audit_events()) == 2


def test_promote_promote_rollback_rollback_walks_back(sandbox_world, sandbox_http):
    original, a = sandbox_world.production_id, sandbox_world.challenger_id
    b = sandbox_world.add_challenger(5, {"mae": 37.0, "rmse": 53.0, "bias": -1.0, "windows": 12})  # beats a by >5%
    assert sandbox_http.promote(sandbox_world, a).json()["previous_model_id"] == original
    assert sandbox_http.promote(sandbox_world, b).json()["previous_model_id"] == a  # same second as the first
    assert len(set(sandbox_world.archive_keys())) == 2

    r = sandbox_http.rollback(sandbox_world)
    assert (r.status_code, r.json()["model_id"], r.json()["rolled_back_model_id"]) == (200, a, b)
    r = sandbox_http.rollback(sandbox_world)
    assert (r.status_code, r.json()["model_id"], r.json()["rolled_back_model_id"]) == (200, original, a)
    assert sandbox_world.registry()["production"]["model_id"] == original
    r = sandbox_http.rollback(sandbox_world)
    assert r.status_code == 409
    assert sorted(x["archive_reason"] for x in sandbox_world.archives()) == ["rolled_back", "rolled_back"]
    assert [e["action"] for e in sandbox_world.audit_events()] == ["promote", "promote", "rollback", "rollback"]
    assert [e["model_id"] for e in sandbox_world.audit_events()] == [a, b, a, original]


def test_rollback_without_registry_is_409(sandbox_http):
    r = sandbox_http.post("/rollback", {"customer_id": "nobody-at-all", "reason": "long enough reason"})
    assert r.status_code == 409
    assert r.json() == {"error": "No archived production model to roll back to"}


# ----------------------------------------------------------------------------- Phase 4 and validation


def _unchanged(world, before):
    assert world.registry() == before
    assert world.audit_events() == []
    assert world.archive_keys() == []


def test_4_1_promote_unknown_challenger_is_404(sandbox_world, sandbox_http):
    before = sandbox_world.registry()
    r = sandbox_http.promote(sandbox_world, "nonexistent_model", reason="Test error handling")
    assert r.status_code == 404
    assert r.json() == {"error": "Challenger nonexistent_model not found"}
    _unchanged(sandbox_world, before)


def test_promote_for_customer_without_registry_is_404(sandbox_http):
    body = {"customer_id": "no-registry", "model_id": "no-registry/challenger_1", "reason": "long enough reason"}
    r = sandbox_http.post("/promote", body)
    assert r.status_code == 404
    assert r.json() == {"error": "Challenger no-registry/challenger_1 not found"}


@pytest.mark.parametrize("reason", ["short", "123456789", "   short   "])
def test_4_2_short_reason_is_400(sandbox_world, sandbox_http, reason):
    before = sandbox_world.registry()
    r = sandbox_http.promote(sandbox_world, reason=reason)
    assert r.status_code == 400
    assert r.json() == {"error": "reason must be at least 10 characters"}
    r = sandbox_http.rollback(sandbox_world, reason=reason)
    assert r.status_code == 400
    _unchanged(sandbox_world, before)


@pytest.mark.parametrize("field", ["customer_id", "model_id", "reason"])
def test_promote_missing_field_is_400(sandbox_world, sandbox_http, field):
    body = {
        "customer_id": sandbox_world.customer_id,
        "model_id": sandbox_world.challenger_id,
        "reason": "long enough reason",
    }
    del body[field]
    r = sandbox_http.post("/promote", body)
    assert r.status_code == 400
    assert field in r.json()["error"]


@pytest.mark.parametrize("data", ["{not json", "", "[1, 2]", '"text"', "null"])
@pytest.mark.parametrize("route", ["/promote", "/rollback"])
def test_malformed_body_is_400(sandbox_http, route, data):
    r = sandbox_http.post(route, data=data) if data else sandbox_http.post(route, None)
    assert r.status_code == 400
    assert "body" in r.json()["error"].lower()


def test_force_must_be_boolean(sandbox_world, sandbox_http):
    body = {
        "customer_id": sandbox_world.customer_id,
        "model_id": sandbox_world.challenger_id,
        "reason": "long enough reason",
        "force": "yes",
    }
    assert sandbox_http.post("/promote", body).status_code == 400


# ----------------------------------------------------------------------------- gates


def _stale(world):
    world.update_challenger(evaluated_at=(world.base_time - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _summary(world, **changes):
    summary = world.registry()["challengers"][0]["evaluation_summary"]
    summary.update(changes)
    world.update_challenger(evaluation_summary=summary)


GATES = {
    "stale": (_stale, "metrics stale (>7 days)"),
    "status": (lambda w: w.update_challenger(status="trained"), "status is 'trained'"),
    "verdict": (lambda w: _summary(w, verdict="not_eligible"), "verdict is 'not_eligible'"),
    "seasonal": (lambda w: _summary(w, seasonal_regressions=["winter"]), "seasonal regressions"),
    "improvement": (
        lambda w: w.set_challenger_metrics({"mae": 44.0, "rmse": 61.0, "bias": -1.3, "windows": 12}),
        "improvement below 5%",
    ),
    "windows": (
        lambda w: w.set_challenger_metrics({"mae": 41.2, "rmse": 58.9, "bias": -1.3, "windows": 8}),
        "backtest windows 8 < 12",
    ),
    "no-metrics": (
        lambda w: w.s3.delete_object(
            Bucket=w.bucket, Key=f"model_metrics/{w.customer_id}/{w.challenger_id}/backtest_results.json"
        ),
        "metrics not found for challenger",
    ),
    "bad-timestamp": (lambda w: w.update_challenger(evaluated_at="last tuesday"), "evaluated_at"),
}


@pytest.mark.parametrize("gate", sorted(GATES))
def test_each_gate_refuses_then_force_bypasses(sandbox_world, sandbox_http, gate):
    breaker, expected = GATES[gate]
    breaker(sandbox_world)
    before = sandbox_world.registry()
    r = sandbox_http.promote(sandbox_world)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "Challenger does not meet promotion gates"
    assert len(body["failed_gates"]) == 1, body
    assert expected in body["failed_gates"][0]
    _unchanged(sandbox_world, before)

    r = sandbox_http.promote(sandbox_world, force=True)
    assert r.status_code == 200, r.text
    assert sandbox_world.registry()["production"]["model_id"] == sandbox_world.challenger_id
    assert len(sandbox_world.audit_events()) == 1


def test_all_failed_gates_are_listed(sandbox_world, sandbox_http):
    _stale(sandbox_world)
    sandbox_world.update_challenger(status="trained")
    sandbox_world.set_challenger_metrics({"mae": 44.0, "rmse": 61.0, "windows": 3})
    r = sandbox_http.promote(sandbox_world)
    assert r.status_code == 409
    assert len(r.json()["failed_gates"]) == 4


@pytest.mark.parametrize(
    "evaluated_at",
    [
        "{d}T12:30:00Z",
        "{d}T12:30:00.123456Z",
        "{d}T12:30:00.1Z",
        "{d}T12:30:00+00:00",
        "{d}T12:30:00.123+00:00",
        "{d}T14:30:00+02:00",
        "{d}T12:30:00",
        "{d} 12:30:00Z",
        "{d}T12:30:00+00:00Z",
    ],
)
def test_evaluated_at_is_parsed_leniently(sandbox_world, sandbox_http, evaluated_at):
    day = (sandbox_world.base_time - timedelta(days=1)).strftime("%Y-%m-%d")
    sandbox_world.update_challenger(evaluated_at=evaluated_at.format(d=day))
    r = sandbox_http.promote(sandbox_world)
    assert r.status_code == 200, r.text


def test_plans_own_isoformat_z_fixture_is_accepted(sandbox_world, sandbox_http):
    from datetime import datetime

    # the plan writes naive datetime.now() + timedelta(...) .isoformat() + 'Z'
    evaluated = (datetime.now() - timedelta(days=1) + timedelta(minutes=30)).isoformat() + "Z"
    sandbox_world.update_challenger(evaluated_at=evaluated, trained_at=evaluated)
    assert sandbox_http.promote(sandbox_world).status_code == 200


# ----------------------------------------------------------------------------- concurrency


def test_live_lock_is_a_concurrent_promotion_gate_and_stale_lock_is_taken_over(sandbox_world, sandbox_http):
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    lock = f"sandbox-locks/{sandbox_world.customer_id}/promotion.lock"
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    sandbox_world.put_json(
        lock,
        {
            "holder": "other",
            "acquired_at": now.strftime(fmt),
            "expires_at": (now + timedelta(seconds=30)).strftime(fmt),
        },
    )
    r = sandbox_http.promote(sandbox_world, force=True)
    assert r.status_code == 409
    assert r.json()["error"] == "Challenger does not meet promotion gates"
    assert "concurrent promotion" in r.json()["failed_gates"][0]
    assert sandbox_http.rollback(sandbox_world).status_code == 409
    _unchanged(sandbox_world, sandbox_world.registry())

    sandbox_world.put_json(
        lock, {"holder": "dead", "acquired_at": "2020-01-01T00:00:00Z", "expires_at": "2020-01-01T00:00:30Z"}
    )
    assert sandbox_http.promote(sandbox_world).status_code == 200
    assert lock not in sandbox_world.keys(lock)


@pytest.mark.slow
def test_concurrent_promotions_and_rollbacks_lose_nothing(sandbox_world, sandbox_make_http, sandbox_instance):
    for i in range(1, 8):
        sandbox_world.add_challenger(i)
    challengers = list(sandbox_world.challengers)
    answers = []
    answers_lock = threading.Lock()
    barrier = threading.Barrier(8)

    def busy(r):
        body = r.json()
        return r.status_code == 409 and (
            "in progress" in body["error"] or "concurrent" in str(body.get("failed_gates"))
        )

    def worker(n):
        http = sandbox_make_http(sandbox_instance)
        rng = random.Random(n)
        barrier.wait()
        for round_ in range(2):
            for _attempt in range(200):  # a client retrying while another operation holds the lock
                if (n + round_) % 3 == 2:
                    r = http.rollback(sandbox_world)
                else:
                    r = http.promote(sandbox_world, challengers[(n + round_) % len(challengers)], force=True)
                with answers_lock:
                    answers.append((r.status_code, r.json()))
                if not busy(r):
                    break
                time.sleep(rng.uniform(0.005, 0.03))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {s for s, _ in answers} <= {200, 404, 409}, answers
    ok = [body for s, body in answers if s == 200]
    assert ok, "at least one operation must succeed"
    assert len(ok) >= 8, sorted(s for s, _ in answers)

    registry = sandbox_world.registry()  # valid JSON
    events = sandbox_world.audit_events()
    assert len(events) == len(ok)
    assert sorted(e["request_id"] for e in events) == sorted(b["request_id"] for b in ok)
    promotions = [b for b in ok if b["message"] == "Model promoted"]
    assert len(registry["challengers"]) == len(challengers) - len(promotions)
    # the production is whatever the last successful operation installed
    last = events[-1]
    assert registry["production"]["model_id"] == last["model_id"]
    # archives: each promotion adds a superseded one; each rollback turns one into a rolled_back one
    rollbacks = len(ok) - len(promotions)
    reasons = sorted(a["archive_reason"] for a in sandbox_world.archives())
    assert reasons == ["rolled_back"] * rollbacks + ["superseded"] * (len(promotions) - rollbacks)
    assert not sandbox_world.keys(f"sandbox-locks/{sandbox_world.customer_id}/")
    json.dumps(registry)
