"""Issue 29, items 1, 2, 4, 5, 6 and 9: the engineer's own credentials, connection and typos are never blamed on the
platform, and an answer the platform got wrong is the platform's, whatever shape it takes. (Item 3, every step
named truly, is tests/test_every_step_named.py.) Tests assert diagnosis ids and whose move it is, never prose
alone.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid

import pytest
from helpers.cli import cli
from helpers.engine import run_engine, zorora_standin
from helpers.lying_proxy import LyingProxy
from helpers.results import customer_keys, failed, flat, objects_of, step
from helpers.sandbox import customer
from helpers.wire import LoopbackServer, QuietHandler, forward

from zorora_e2e_plugin.core.diagnosis import Whose
from zorora_e2e_plugin.core.outcomes import FAIL, SKIP, WARN
from zorora_e2e_plugin.report.verdict_line import verdict_line
from zorora_e2e_plugin.sandbox import Sandbox

GATEWAY_503 = (503, '{"message":"Service Unavailable"}')
GATEWAY_504 = (504, '{"message":"Endpoint request timed out"}')


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-cause-{uuid.uuid4().hex[:8]}") as sb:
        yield sb


@pytest.fixture(params=["direct", "zorora"])
def client(request, monkeypatch):
    """Each test in both client modes; for zorora, the stand-in of Zorora's classes (docs/platform.md, section 1)."""
    if request.param == "zorora":
        with zorora_standin(monkeypatch):
            yield request.param
    else:
        yield request.param


def diagnosis(result, step_id):
    found = step(result, step_id).diagnosis or {}
    return found.get("id"), found.get("whose")


# ------------------------------------------------------------------------------ 1. AWS credentials


@pytest.mark.slow
def test_the_sandbox_s3_can_check_credentials_as_aws_does(sandbox):
    """The s3-auth fault: S3 answers bad keys, a wrong secret and a session token as AWS does, and a HEAD with its
    status alone; the sandbox's own keys (any key name, any byte in it) still pass."""
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ClientError

    def s3(key=sandbox.access_key_id, secret=sandbox.secret_access_key, token=None):
        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=sandbox.s3_endpoint_url,
            region_name=sandbox.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}),
        )

    def codes(client):
        found = []
        for call in (
            lambda: client.head_bucket(Bucket=sandbox.bucket),
            lambda: client.put_object(Bucket=sandbox.bucket, Key="zorora-e2e-auth/x", Body=b"1"),
        ):
            try:
                call()
                found.append("ok")
            except ClientError as exc:
                found.append(exc.response["Error"]["Code"])
        return found

    sandbox.set_faults(["s3-auth"])
    try:
        good = s3()
        good.put_object(Bucket=sandbox.bucket, Key="zorora-e2e-auth/a b+c=d.json", Body=b"{}")
        assert good.list_objects_v2(Bucket=sandbox.bucket, Prefix="zorora-e2e-auth/")["KeyCount"] == 1
        good.delete_objects(Bucket=sandbox.bucket, Delete={"Objects": [{"Key": "zorora-e2e-auth/a b+c=d.json"}]})
        assert codes(s3(key="AKIAUNKNOWN")) == ["403", "InvalidAccessKeyId"]  # a HEAD's answer has no body
        assert codes(s3(secret="wrong")) == ["403", "SignatureDoesNotMatch"]
        assert codes(s3(token="expired")) == ["400", "ExpiredToken"]
    finally:
        sandbox.set_faults([])
    assert customer_keys(sandbox, "zorora-e2e-auth") == []


def _sso_config(tmp_path):
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile dev]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Admin\nregion = af-south-1\n"
    )
    return {
        "AWS_CONFIG_FILE": str(config),
        "AWS_PROFILE": "dev",
        "HOME": str(tmp_path),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }


CREDENTIALS = {  # what is wrong -> (environment, diagnosis, what the fix line says)
    "unknown key": ({"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY0000000"}, "ZE-S3-003", "check AWS_ACCESS_KEY_ID"),
    "wrong secret": ({"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "ZE-S3-003", "check AWS_ACCESS_KEY_ID"),
    "expired token": ({"AWS_SESSION_TOKEN": "an-expired-session-token"}, "ZE-S3-009", "refresh them"),
    "SSO not logged in": (None, "ZE-S3-010", "run `aws sso login --profile dev`"),
}


@pytest.mark.parametrize("case", list(CREDENTIALS))
def test_aws_credentials_s3_refuses_fail_the_gate_once_at_0_4_as_the_settings_exit_2(sandbox, tmp_path, case):
    """Item 1: an unknown key, a wrong secret, an expired session token, an SSO profile not logged in. The gate
    fails once, at 0.4, exit 2, whose = settings, naming the fix; 0.5 and the cleanup do not fail on top of it,
    and nothing is claimed left in S3 (nothing was written)."""
    env, expected, fix = CREDENTIALS[case]
    if env is None:
        env = {k: v for k, v in sandbox.env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        env.update(_sso_config(tmp_path))
    else:
        env = {**sandbox.env(), **env}
    report, cid = tmp_path / "run.json", customer("creds")
    sandbox.set_faults(["s3-auth"])
    try:
        done = cli(
            "run",
            "--client",
            "direct",
            "--no-color",
            "--yes",
            "--customer-id",
            cid,
            "--json",
            str(report),
            env={**env, "AWS_MAX_ATTEMPTS": "1"},
        )
    finally:
        sandbox.set_faults([])
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    data = json.loads(report.read_text())
    failing = [s for s in data["steps"] if s["status"] in ("fail", "warn")]
    assert [s["id"] for s in failing] == ["0.4"], out
    assert failing[0]["diagnosis"]["id"] == expected and failing[0]["diagnosis"]["whose"] == "settings", out
    assert fix in failing[0]["diagnosis"]["hint"], out
    verdict = [line for line in done.stdout.strip().splitlines() if " report written to " not in line][-1]
    assert "fix your settings" in verdict and "no test data written" in verdict, verdict
    assert "ZE-S3-004" not in out and "infrastructure" not in out and "Lambda code" not in out, out
    assert "may be left" not in out and "Left in S3" not in out and "Traceback" not in out, out
    assert data["cleanup"]["proven_empty"] and data["cleanup"]["leftover"] == []
    assert customer_keys(sandbox, cid) == []


class HeadRefusingS3(LoopbackServer):
    """The sandbox's S3 behind a proxy that refuses HeadBucket (403, no body, as S3 answers a HEAD); everything
    else is forwarded."""

    def __init__(self, sandbox):
        upstream = int(sandbox.s3_endpoint_url.rsplit(":", 1)[1])
        bucket = f"/{sandbox.bucket}"

        class Handler(QuietHandler):
            def _any(self):
                if self.command == "HEAD" and self.path.split("?")[0].rstrip("/") == bucket:
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                forward(self, upstream, self.path)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        super().__init__(Handler)


def test_a_head_refused_while_the_put_succeeds_still_removes_the_probe(sandbox, tmp_path):
    """The other side of reading the PUT's answer: S3 refusing only 0.4's HEAD (the deployment's IAM, no
    s3:ListBucket) does not make the run believe its probe unwritten: the cleanup still removes it."""
    cid = customer("head")
    with HeadRefusingS3(sandbox) as s3:
        done = cli(
            "run",
            "--client",
            "direct",
            "--no-color",
            "--preflight-only",
            "--customer-id",
            cid,
            env={**sandbox.env(), "AWS_ENDPOINT_URL_S3": s3.url},
        )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "ZE-S3-004" in done.stdout, done.stdout
    assert customer_keys(sandbox, cid) == [], done.stdout


# ------------------------------------------------------------------------------ 2. a connection never made


class Unconnectable:
    """A loopback port whose listen queue is full: a SYN to it is dropped, so a connection times out (as with a VPN
    off or a private API reached from outside its VPC)."""

    def __enter__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0)
        self.port = self.server.getsockname()[1]
        self.fill = []
        for _ in range(8):
            sock = socket.socket()
            sock.setblocking(False)
            try:
                sock.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fill.append(sock)
        time.sleep(0.1)
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/prod/api/v1"

    def __exit__(self, *exc):
        for sock in self.fill + [self.server]:
            sock.close()


@pytest.mark.slow
def test_a_connect_timeout_is_the_connection_never_a_cold_start(sandbox, client):
    """Item 2: nothing accepts TCP at the base URL: the settings' (ZE-NET-002), said once at 0.1, not retried;
    only a read timeout after connecting may be a cold start (ZE-NET-001)."""
    with Unconnectable() as nowhere:
        result, text = run_engine(sandbox, base_url=nowhere.url, client=client, timeout=1, phases=[0])
    assert failed(result) == ["0.1"], text
    assert diagnosis(result, "0.1") == ("ZE-NET-002", Whose.SETTINGS), text
    assert "no TCP connection" in step(result, "0.1").actual, text
    assert "cold-start" not in text and "ZE-NET-001" not in text and "attempts" not in text, text
    assert step(result, "0.3").status == SKIP and step(result, "0.5").status == SKIP, text
    assert "fix your settings" in verdict_line(result)
    result, text = run_engine(sandbox, ["hang:/challengers"], client=client, timeout=1, phases=[0])
    assert diagnosis(result, "0.1") == ("ZE-NET-001", Whose.DEPLOYMENT), text  # connected, then no answer


@pytest.mark.slow
def test_a_refused_connection_is_named_once(sandbox):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, text = run_engine(sandbox, base_url=f"http://127.0.0.1:{port}/prod/api/v1", phases=[0])
    assert failed(result) == ["0.1"] and [s.id for s in result.steps if s.status == WARN] == [], text
    assert diagnosis(result, "0.1") == ("ZE-NET-002", Whose.SETTINGS), text


# ------------------------------------------------------------------------------ 4. a 504 to a mutation that applied


@pytest.mark.slow
@pytest.mark.parametrize("route, step_id, what", [("/promote", "3.1", "promotion"), ("/rollback", "3.3", "rollback")])
def test_a_504_to_a_mutation_that_applied_fails_the_step_saying_it_applied(sandbox, client, route, step_id, what):
    """Item 4: the Lambda acted, API Gateway answered its 504: the engineer's command got an error for a change
    that happened (a retry would do it twice): the step fails with the integration timeout, saying it applied;
    sent once."""
    sent = []

    def lie(request, status, body):
        if request.method == "POST" and request.route == route and status == 200:
            sent.append(request.route)
            return GATEWAY_504
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client)
    assert failed(result) == [step_id], text
    assert diagnosis(result, step_id) == ("ZE-LAMBDA-017", Whose.DEPLOYMENT), text
    got = flat(step(result, step_id))
    assert "HTTP 504" in got and "shows it applied" in got and f"the {what} was applied anyway" in got, text
    assert "flaky or throttled" not in text
    assert len(sent) == 1
    assert objects_of(sandbox, result.customer_id) == []


# ------------------------------------------------------------------------------ 5. a missing field


def test_a_listing_without_count_names_the_missing_field_not_the_bucket(sandbox, client):
    """Item 5: /challengers answers without `count` but lists the test challenger: the field, the Lambda's."""

    def lie(request, status, body):
        if request.method == "GET" and request.route == "/challengers" and "zorora-e2e-test-" in request.query:
            data = json.loads(body)
            data.pop("count", None)
            return status, json.dumps(data)
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client, phases=[2])
    assert failed(result) == ["2.1"], text
    assert diagnosis(result, "2.1") == ("ZE-LAMBDA-019", Whose.PLATFORM), text
    assert "'count'" in step(result, "2.1").hint and "ona-globalTrainingService-prod" in step(result, "2.1").hint
    assert "ZE-S3-001" not in text


def test_a_listing_that_sees_no_test_data_is_still_the_bucket(sandbox):
    """The other side: an empty listing (count 0, no challenger) is the API reading another bucket (settings)."""

    def lie(request, status, body):
        if request.method == "GET" and request.route == "/challengers" and "zorora-e2e-test-" in request.query:
            data = json.loads(body)
            return status, json.dumps({**data, "challengers": [], "count": 0})
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, phases=[2])
    assert diagnosis(result, "2.1") == ("ZE-S3-001", Whose.SETTINGS), text


# ------------------------------------------------------------------------------ 6. API Gateway's own 503s


@pytest.mark.slow
def test_a_gateway_503_proves_nothing_about_the_token(sandbox):
    """Item 6: 0.1's GET /challengers answered API Gateway's own 503 on every attempt: 0.2 is not judged."""

    def before(request):
        if request.method == "GET" and request.route == "/challengers" and request.query == "customer_id=test":
            return GATEWAY_503
        return None

    with LyingProxy(sandbox, before=before) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, phases=[0])
    assert step(result, "0.2").status == SKIP, text
    said = step(result, "0.2").actual
    assert "accepted" not in said and "API Gateway answered HTTP 503" in said, text
    assert "API Gateway answered itself" in step(result, "0.1").actual and "Lambda invoked" not in text, text


@pytest.mark.slow
def test_backoff_is_not_a_cold_start(sandbox):
    """Item 6: the first request answered API Gateway's 503 twice, then fast: its retries' backoff (about a
    second) is not a cold start."""
    seen = []

    def before(request):
        if request.method == "GET" and request.route == "/challengers" and request.query == "customer_id=test":
            seen.append(request)
            if len(seen) <= 2:
                return GATEWAY_503
        return None

    with LyingProxy(sandbox, before=before) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, phases=[0])
    assert len(seen) == 3 and "passed on attempt 3" in step(result, "0.1").actual, text
    assert "cold start" not in (result.note or "") and "cold start" not in text, text


@pytest.mark.slow
def test_the_preflights_reads_are_retried_once_not_three_times_three(sandbox):
    """Item 6: under API Gateway's 503 on everything, each of 0.5's GETs is sent at most three times (the read
    retries), and its POSTs at most three times too (a POST API Gateway answered itself never reached the Lambda;
    the README says so); never nine."""
    sent = []

    def before(request):
        sent.append((request.method, request.path, request.query))
        return GATEWAY_503

    with LyingProxy(sandbox, before=before) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, phases=[0])
    assert step(result, "0.5").status == FAIL, text
    counts = {key: sent.count(key) for key in set(sent)}
    assert max(counts.values()) <= 3, counts
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    assert "0.5's two probes" in readme and "may be sent again, at most twice" in readme


# ------------------------------------------------------------------------------ 9. hostile bodies

DEEP = "[" * 100000 + "]" * 100000  # valid JSON, nested deeper than Python's parser allows


def test_json_nested_deeper_than_the_parser_allows_is_the_apis_answer(sandbox, client):
    """Item 9: never "unexpected error inside the validator" (ZE-RUN-002): the API's answer, the Lambda's."""

    def lie(request, status, body):
        if request.method == "GET" and request.route == "/metrics" and "preflight" not in request.path:
            return 200, DEEP
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client, phases=[2])
    assert failed(result) == ["2.2", "2.3"], text
    for step_id in ("2.2", "2.3"):
        assert diagnosis(result, step_id) == ("ZE-LAMBDA-015", Whose.PLATFORM), text
        assert not step(result, step_id).traceback
    assert "ZE-RUN-002" not in text and "validator" not in text


def test_a_deep_body_in_the_preflight_is_the_apis_answer(sandbox):
    def lie(request, status, body):
        if request.route == "/challengers":
            return status, DEEP
        return None

    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, phases=[0])
    assert "ZE-RUN-002" not in text and all(not s.traceback for s in result.steps), text
    assert diagnosis(result, "0.1") == ("ZE-LAMBDA-015", Whose.PLATFORM), text


@pytest.mark.slow
def test_nan_and_infinity_in_an_answer_stay_out_of_the_json_report(sandbox, tmp_path):
    """Item 9: `NaN`/`Infinity` in /diff's answer (Python's parser accepts them) is carried into --json's
    readiness block as standard JSON: jq, JSON.parse and Go accept the report."""
    seeded = sandbox.seed_customer("nan-corp")

    def lie(request, status, body):
        if request.method == "GET" and request.route == "/diff" and "nan-corp" in request.query:
            data = json.loads(body)
            data["improvement"] = {**data["improvement"], "mae_pct": float("nan"), "rmse_pct": float("inf")}
            return 200, json.dumps(data)  # Python writes NaN and Infinity, as some servers do
        return None

    report = tmp_path / "r.json"
    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(
            sandbox, base_url=proxy.url, preflight_only=True, readiness_for=[seeded.customer_id], json_path=str(report)
        )
    raw = report.read_text()

    def strict(name):
        raise ValueError(f"not standard JSON: {name}")

    data = json.loads(raw, parse_constant=strict)  # what jq, JSON.parse and Go accept
    improvement = data["readiness"]["diff"]["improvement"]
    assert improvement["mae_pct"] == "NaN" and improvement["rmse_pct"] == "Infinity", raw
