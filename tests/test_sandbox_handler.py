"""The Lambda handler called with payload-2.0 events directly (S3 still over the real protocol),
and the pure rules: lenient ISO-8601, improvement arithmetic, comparison."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from zorora_e2e_plugin.sandbox.api import Api, ApiConfig
from zorora_e2e_plugin.sandbox.faults import FaultSet
from zorora_e2e_plugin.sandbox.rules import compare, improvement_pct, parse_iso
from zorora_e2e_plugin.sandbox.server import build_event


def _event(method, path, query="", body=b"", headers=None, token="tok"):
    hdrs = [("Host", "abc.execute-api.af-south-1.amazonaws.com"), ("User-Agent", "pytest")]
    if token:
        hdrs.append(("Authorization", f"Bearer {token}"))
    hdrs += list((headers or {}).items())
    return build_event(method, path, query, hdrs, body)


@pytest.fixture
def api(sandbox_instance):
    return Api(ApiConfig(bucket=sandbox_instance.bucket, token="tok", s3=sandbox_instance.s3_client()))


def test_build_event_is_payload_2_0():
    event = build_event(
        "get",
        "/prod/api/v1/metrics/C%2Fchallenger_1",
        "a=1&a=2&b=",
        [
            ("X-Actor", "me"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "k=v; k2=v2"),
            ("Content-Type", "application/octet-stream"),
        ],
        b"\x00\xff",
    )
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/prod/api/v1/metrics/C%2Fchallenger_1"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-actor"] == "me" and event["headers"]["x-multi"] == "1,2"
    assert event["cookies"] == ["k=v", "k2=v2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "prod" and event["requestContext"]["requestId"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xff"
    text = build_event("POST", "/p", "", [("Content-Type", "application/json; charset=utf-8")], b'{"a":1}')
    assert text["isBase64Encoded"] is False and text["body"] == '{"a":1}'


def test_handler_shapes(api, sandbox_world):
    r = api(_event("GET", "/prod/api/v1/challengers", f"customer_id={sandbox_world.customer_id}"), None)
    assert r["statusCode"] == 200
    assert r["headers"]["content-type"] == "application/json"
    assert json.loads(r["body"])["count"] == 1
    assert r["isBase64Encoded"] is False


def test_handler_without_stage_prefix_still_routes(api):
    # a Lambda behind a $default stage gets rawPath without /prod
    r = api(_event("GET", "/api/v1/challengers", "customer_id=x"))
    assert r["statusCode"] == 200


def test_handler_accepts_base64_bodies(api, sandbox_world):
    body = json.dumps(
        {
            "customer_id": sandbox_world.customer_id,
            "model_id": sandbox_world.challenger_id,
            "reason": "End-to-end validation test promotion",
            "actor": "bot",
        }
    ).encode()
    event = _event("POST", "/prod/api/v1/promote", body=body)  # no content-type: the gateway base64-encodes
    assert event["isBase64Encoded"] is True
    r = api(event)
    assert r["statusCode"] == 200, r["body"]
    assert json.loads(r["body"])["request_id"] == event["requestContext"]["requestId"]
    assert sandbox_world.registry()["production"]["promoted_by"] == "bot"


def test_bearer_auth_off_and_missing_token(sandbox_instance):
    s3 = sandbox_instance.s3_client()
    open_api = Api(ApiConfig(bucket=sandbox_instance.bucket, token=None, use_bearer_auth=False, s3=s3))
    assert open_api(_event("GET", "/prod/api/v1/challengers", "customer_id=x", token=None))["statusCode"] == 200
    unset = Api(ApiConfig(bucket=sandbox_instance.bucket, token=None, use_bearer_auth=True, s3=s3))
    r = unset(_event("GET", "/prod/api/v1/challengers", "customer_id=x", token=""))
    assert r["statusCode"] == 401
    r = unset(build_event("GET", "/prod/api/v1/challengers", "customer_id=x", [("Authorization", "Bearer ")], b""))
    assert r["statusCode"] == 401


def test_non_ascii_token_is_compared_safely(sandbox_instance):
    api = Api(ApiConfig(bucket=sandbox_instance.bucket, token="tökén", s3=sandbox_instance.s3_client()))
    assert api(_event("GET", "/prod/api/v1/challengers", "customer_id=x", token="tökén"))["statusCode"] == 200
    assert api(_event("GET", "/prod/api/v1/challengers", "customer_id=x", token="token"))["statusCode"] == 401


def test_unexpected_s3_failure_is_a_500_without_details(sandbox_instance, caplog):
    api = Api(ApiConfig(bucket="no-such-bucket-here", token="tok", s3=sandbox_instance.s3_client()))
    body = json.dumps({"customer_id": "c", "model_id": "c/challenger_1", "reason": "long enough reason"}).encode()
    r = api(_event("POST", "/prod/api/v1/promote", body=body, headers={"Content-Type": "application/json"}))
    assert r["statusCode"] == 500
    assert json.loads(r["body"]) == {"error": "Internal server error"}


def test_config_from_env(sandbox_instance):
    s3 = sandbox_instance.s3_client()
    config = ApiConfig.from_env(
        {
            "OUTPUT_BUCKET": "b",
            "INTERNAL_API_TOKEN": "secret",
            "USE_BEARER_AUTH": "true",
            "SANDBOX_FAULTS": "no-audit, latency:5",
        },
        s3=s3,
    )
    assert (config.bucket, config.token, config.use_bearer_auth) == ("b", "secret", True)
    assert [str(f) for f in config.faults] == ["no-audit", "latency:5"]
    config = ApiConfig.from_env({}, s3=s3)
    assert (config.bucket, config.token, config.use_bearer_auth, len(config.faults)) == (
        "sa-api-client-output",
        None,
        False,
        0,
    )


def test_module_handler_reads_the_environment(sandbox_instance, monkeypatch):
    import zorora_e2e_plugin.sandbox.api as api_module

    for name, value in {
        "OUTPUT_BUCKET": sandbox_instance.bucket,
        "INTERNAL_API_TOKEN": "env-token",
        "USE_BEARER_AUTH": "true",
        "AWS_ENDPOINT_URL_S3": sandbox_instance.internal_s3_endpoint_url,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": sandbox_instance.region,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(api_module, "_env_api", None)
    r = api_module.handler(_event("GET", "/prod/api/v1/challengers", "customer_id=x", token="env-token"), None)
    assert r["statusCode"] == 200 and json.loads(r["body"]) == {"customer_id": "x", "challengers": [], "count": 0}
    r = api_module.handler(_event("GET", "/prod/api/v1/challengers", "customer_id=x", token="tok"), None)
    assert r["statusCode"] == 401
    monkeypatch.setattr(api_module, "_env_api", None)


def test_faults_in_config_apply_to_the_handler(sandbox_instance):
    api = Api(
        ApiConfig(
            bucket=sandbox_instance.bucket,
            token="tok",
            s3=sandbox_instance.s3_client(),
            faults=FaultSet(["stage-prefix"]),
        )
    )
    r = api(_event("GET", "/prod/api/v1/challengers", "customer_id=x"))
    assert r["statusCode"] == 500


# ----------------------------------------------------------------------------- pure rules

UTC = timezone.utc


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-01-20T12:30:00Z", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T12:30:00z", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T12:30:00.123456Z", datetime(2025, 1, 20, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2025-01-20T12:30:00.123456789Z", datetime(2025, 1, 20, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2025-01-20T12:30:00.5+00:00", datetime(2025, 1, 20, 12, 30, 0, 500000, tzinfo=UTC)),
        ("2025-01-20T12:30:00+00:00", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T14:30:00+02:00", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T10:30:00-0200", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T12:30:00", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20 12:30:00Z", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T12:30Z", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20T12:30:00+00:00Z", datetime(2025, 1, 20, 12, 30, tzinfo=UTC)),
        ("2025-01-20", datetime(2025, 1, 20, tzinfo=UTC)),
    ],
)
def test_parse_iso_is_lenient(text, expected):
    assert parse_iso(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2025-13-01T00:00:00Z", "20250120_123000", None, 12345])
def test_parse_iso_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_iso(text)


def test_improvement_arithmetic_matches_the_contract():
    assert improvement_pct(45.0, 41.2) == 8.44
    assert improvement_pct(62.7, 58.9) == 6.06
    assert improvement_pct(0, 1) is None and improvement_pct("45", 41) is None and improvement_pct(True, 1) is None


def test_compare():
    prod = {"backtest": {"mae": 45.0, "rmse": 62.7, "windows": 12}}
    result = compare({"backtest": {"mae": 41.2, "rmse": 58.9, "windows": 12}}, prod)
    assert result["verdict"] == "eligible" and result["regressions"] == []
    # one metric >= 5% is enough when the other does not regress
    assert compare({"backtest": {"mae": 42.0, "rmse": 62.7, "windows": 12}}, prod)["verdict"] == "eligible"
    worse = compare({"backtest": {"mae": 40.0, "rmse": 63.0, "windows": 12}}, prod)
    assert worse["verdict"] == "not_eligible" and worse["regressions"] == ["rmse worse: 62.7 -> 63"]
    assert compare({"backtest": {"mae": 41.2, "rmse": 58.9}}, prod)["verdict"] == "not_eligible"
    assert compare({}, prod)["improvement"] == {"mae_pct": None, "rmse_pct": None}
    assert compare({"backtest": {"mae": 41.2, "rmse": 58.9, "windows": 12}}, prod, [{"season": "winter"}])[
        "regressions"
    ] == ['seasonal: {"season": "winter"}']
    assert datetime.now(UTC) - parse_iso((datetime.now(UTC) - timedelta(days=1)).isoformat()) > timedelta(hours=23)
