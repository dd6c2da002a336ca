"""Transient errors are not failures (issue 16 item 5, issue 17 item 8): reads are retried (at most twice,
with backoff and Retry-After), mutations are sent once and settled by reading the state they change, no more
than a few requests go to one host at once, and a 429 is throttling, never the Lambda's fault.

A proxy in front of the sandbox answers for API Gateway (`before`: the Lambda never sees the request) or
replaces the Lambda's answer after it acted (`lie`), deterministically, in both client modes.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest
from helpers.engine import STANDIN, run_engine, zorora_standin
from helpers.lying_proxy import DROP, LyingProxy
from helpers.results import failed, flat, objects_of, step

from zorora_e2e_plugin.core.outcomes import FAIL, GATE_FAILED, PASSED, WARN
from zorora_e2e_plugin.plan.seed_data import PROMOTE_REASON
from zorora_e2e_plugin.sandbox import Sandbox

UNAVAILABLE = (503, '{"message":"Service Unavailable"}')


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket="zorora-e2e-retries") as sb:
        yield sb


@pytest.fixture(params=["direct", "zorora"])
def client(request, monkeypatch):
    """Each test in both client modes; for zorora, the stand-in of Zorora's classes (docs/platform.md, section 1)."""
    if request.param == "zorora":
        with zorora_standin(monkeypatch):
            yield request.param
    else:
        yield request.param


class FirstTime:
    """API Gateway answering the first request of each kind itself (the Lambda never sees it)."""

    def __init__(self, answer, methods=("GET", "POST"), routes=None):
        self.answer, self.methods, self.routes = answer, methods, routes
        self.seen, self.lock = set(), threading.Lock()

    def __call__(self, request):
        key = (request.method, request.path, request.query, repr(request.body))
        if request.method not in self.methods or (self.routes and request.route not in self.routes):
            return None
        with self.lock:
            if key in self.seen:
                return None
            self.seen.add(key)
        return self.answer


def lambda_posts(sandbox, route, status=200):
    return [
        r
        for r in sandbox.request_log
        if r.kind == "api" and r.method == "POST" and r.path.endswith(route) and r.status == status
    ]


@pytest.mark.slow
def test_a_503_on_the_first_attempt_of_every_request_passes_with_warnings(sandbox, client):
    """Every GET and every POST first answered 503 by API Gateway itself: reads pass on attempt 2; promote and
    rollback are sent again only after the registry showed them not applied."""
    del sandbox.request_log[:]
    with LyingProxy(sandbox, before=FirstTime(UNAVAILABLE)) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client)
    assert (result.verdict, result.exit_code) == (PASSED, 0), text
    assert failed(result) == [], text
    assert "passed on attempt 2 (HTTP 503)" in step(result, "2.4").actual, text
    assert "sent again, applied" in step(result, "3.1").actual, text
    assert len(lambda_posts(sandbox, "/promote")) == 1 and len(lambda_posts(sandbox, "/rollback")) == 1
    assert objects_of(sandbox, result.customer_id) == []


@pytest.mark.slow
@pytest.mark.parametrize("route, status, step_id", [("/promote", 502, "3.1"), ("/rollback", 504, "3.3")])
def test_a_5xx_answer_to_a_mutation_that_took_effect_is_settled_by_reading_the_registry(
    sandbox, client, route, status, step_id
):
    """The Lambda acted, API Gateway answered 5xx: never sent again; the step says it was applied, and fails for
    the error the engineer's command got (issue 29 item 4: a retry would do it twice)."""

    def lie(request, answered, body):
        if request.method == "POST" and request.route == route and answered == 200:
            return status, '{"message":"Internal Server Error"}'
        return None

    del sandbox.request_log[:]
    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client)
    assert failed(result) == [step_id], text
    assert f"HTTP {status}" in step(result, step_id).actual and "shows it applied" in step(result, step_id).actual
    assert "applied anyway" in step(result, step_id).hint
    assert len(lambda_posts(sandbox, route)) == 1, "a mutation is never re-sent after it reached the Lambda"
    assert objects_of(sandbox, result.customer_id) == []


@pytest.mark.slow
@pytest.mark.parametrize("route, step_id", [("/promote", "3.1"), ("/rollback", "3.3")])
def test_a_lost_answer_to_a_mutation_that_took_effect_is_settled_by_reading_the_registry(
    sandbox, client, route, step_id
):
    """The Lambda acted and the connection dropped before any answer: never sent again; the step passes with a
    warning saying it was applied."""

    def lie(request, answered, body):
        if request.method == "POST" and request.route == route and answered == 200:
            return DROP
        return None

    del sandbox.request_log[:]
    with LyingProxy(sandbox, lie) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client)
    assert result.verdict == PASSED and failed(result) == [], text
    assert step(result, step_id).status == WARN, text
    assert "shows it applied" in step(result, step_id).actual
    assert step(result, step_id).diagnosis["id"] == "ZE-NET-008", text
    assert len(lambda_posts(sandbox, route)) == 1, "a mutation is never re-sent after it reached the Lambda"
    assert objects_of(sandbox, result.customer_id) == []


def test_a_5xx_to_a_mutation_that_did_not_take_effect_fails_naming_it(sandbox):
    """500 from the Lambda before it acted (here: the proxy answers for a Lambda that crashed): not applied,
    not sent again, and the step says what reading the registry showed."""
    calls = []

    def crash(request):
        if request.route == "/promote" and (request.body or {}).get("reason") == PROMOTE_REASON:
            calls.append(1)
            return 500, '{"error":"Internal server error"}'
        return None

    with LyingProxy(sandbox, before=crash) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url)
    assert failed(result) == ["3.1"], text
    assert "shows it not applied" in step(result, "3.1").actual, text
    assert len(calls) == 1
    assert objects_of(sandbox, result.customer_id) == []


@pytest.mark.slow
def test_a_read_failing_three_times_fails_its_step_saying_so(sandbox, client):
    def before(request):
        if (
            request.method == "GET"
            and request.route == "/diff"
            and "production%2Flatest" not in request.query
            and "challenger_id" in request.query
        ):
            return UNAVAILABLE
        return None

    with LyingProxy(sandbox, before=before) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client)
    assert failed(result) == ["2.4"], text
    got = flat(step(result, "2.4"))
    assert "HTTP 503 on each of 3 attempts" in got and "API Gateway answered 503" in got, text
    assert "CloudWatch" not in step(result, "2.4").hint


@pytest.mark.slow
def test_retry_after_is_honoured(sandbox, client):
    seen = []

    def before(request):
        if request.method == "GET" and request.route == "/audit-log" and "customer_id" in request.query:
            seen.append(time.monotonic())
            if len(seen) == 1:
                return 429, '{"message":"Too Many Requests"}', {"Retry-After": "1"}
        return None

    with LyingProxy(sandbox, before=before) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url, client=client, phases=[0, 1, 2])
    assert result.verdict == PASSED, text
    assert seen[1] - seen[0] >= 0.95, "the retry waited for Retry-After"
    assert "passed on attempt 2 (HTTP 429)" in step(result, "2.5").actual
    assert "throttl" in step(result, "2.5").hint and "CloudWatch" not in step(result, "2.5").hint


# ----------------------------------------------------------------------------- issue 17 item 8: throttling


@pytest.mark.slow
def test_at_most_a_few_requests_go_to_the_api_at_once(sandbox, client):
    """The preflight alone sends 8 API requests; a stage's burst limit can be 5."""
    del sandbox.request_log[:]
    result, text = run_engine(sandbox, ["latency:150"], client=client)
    assert result.verdict == PASSED, text
    api = sorted((r.started, r.ended) for r in sandbox.request_log if r.kind == "api")
    most = max(sum(1 for s, e in api if s <= start < e) for start, _ in api)
    assert most <= 5, f"{most} API requests in flight at once"


@pytest.mark.slow
def test_api_gateway_throttling_passes_with_a_warning_and_is_never_blamed_on_the_lambda(sandbox, client):
    result, text = run_engine(sandbox, ["throttle:5/10"], client=client)
    assert (result.verdict, result.exit_code) == (PASSED, 0), text
    assert objects_of(sandbox, result.customer_id) == []
    result, text = run_engine(sandbox, ["throttle:1/0.2"], client=client, phases=[0])  # one request in 5 s
    assert result.verdict == GATE_FAILED, text
    hints = " ".join(s.hint for s in result.steps if s.status in (FAIL, WARN))
    assert "throttl" in hints and "the Lambda failed" not in hints, text


@pytest.mark.slow
def test_the_history_records_retries_per_route(sandbox, tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(tmp_path / "history.jsonl"))
    with LyingProxy(sandbox, before=FirstTime(UNAVAILABLE, methods=("GET",), routes=("/diff",))) as proxy:
        result, text = run_engine(sandbox, base_url=proxy.url)
    assert result.verdict == PASSED, text
    records = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert records[-1]["retries"].get("GET /diff", 0) >= 1


def test_the_repl_client_gets_its_retries_and_adapters_back(sandbox, monkeypatch):
    """During a run Zorora's immediate 5xx retries are off and the run's read retries are on its session;
    afterwards the REPL's client is as it was."""
    monkeypatch.syspath_prepend(STANDIN)
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        monkeypatch.delitem(sys.modules, name)
    from zorora.http_client import ZororaHTTPClient

    from zorora_e2e_plugin.client import ZororaClient, run_scope
    from zorora_e2e_plugin.config.flags import RunFlags
    from zorora_e2e_plugin.config.settings import resolve
    from zorora_e2e_plugin.run.in_sandbox import sandbox_target
    from zorora_e2e_plugin.wire.adapter import RunAdapter
    from zorora_e2e_plugin.wire.watch import Watch

    settings = resolve(RunFlags(client="zorora"), {}, target=sandbox_target(sandbox))
    http = ZororaHTTPClient(settings.base_url, auth_token=settings.token, max_retries=3)
    adapters = dict(http.session.adapters)
    client = ZororaClient(http, settings.actor)
    with run_scope(settings, client), Watch(settings.base_url).attach(http.session):  # as a run holds them
        assert http.max_retries == 0
        assert isinstance(http.session.get_adapter(settings.base_url), RunAdapter)
    assert http.max_retries == 3 and http.session.adapters == adapters
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        del sys.modules[name]
