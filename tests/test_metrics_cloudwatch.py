"""--metrics cloudwatch (issue 31 item 1): what a passing and a failing run publish, read back from moto's
CloudWatch served by the sandbox on loopback (ListMetrics, GetMetricData): names, dimensions, values and units;
one PutMetricData call a run; nothing secret in a dimension; and a CloudWatch that refuses (no permission, no
network: real loopback servers) costs one line of warning, never the verdict or the exit code."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers.cli import CLEAN_ENV
from helpers.cli import cli as run_cli
from helpers.metrics import (
    Refusing,
    closed_port,
    cloudwatch,
    fresh_namespace,
    history_line,
    listed,
    reset_cloudwatch,
    run_with_metrics,
    statistic,
)

from zorora_e2e_plugin.config.checks import SettingsError
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.metrics import metrics_from
from zorora_e2e_plugin.core.outcomes import FAIL
from zorora_e2e_plugin.metrics.build import Datum, target_of
from zorora_e2e_plugin.metrics.cloudwatch import MAX_PER_CALL, batches, metric_data, publish
from zorora_e2e_plugin.sandbox import Sandbox

BASE = (("Kind", "full"), ("Target", "sandbox"))


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture(autouse=True)
def _empty_cloudwatch():
    reset_cloudwatch()


def puts(sandbox, since):
    return [r for r in sandbox.request_log[since:] if r.kind == "cloudwatch" and r.path == "PutMetricData"]


def expected(result, record, kind="full"):
    """(name, dimensions) of every metric the run must have published, from its result and its history line."""
    base = (("Kind", kind), ("Target", "sandbox"))
    names = {(n, base) for n in ("Passed", "Duration", "FailedSteps", "Retries", "ColdStart")}
    names |= {("PhaseDuration", tuple(sorted(base + (("Phase", str(p)),)))) for p in result.phase_seconds}
    names |= {("RouteLatency", tuple(sorted(base + (("Route", r),)))) for r in record["routes"]}
    return names


@pytest.mark.parametrize("faults, passed", [((), 1), (("no-rollback-archive",), 0)], ids=["passing", "failing"])
def test_a_run_publishes_its_metrics_and_they_read_back(sandbox, tmp_path, faults, passed):
    history = tmp_path / "h.jsonl"
    ns = fresh_namespace()
    since = len(sandbox.request_log)
    result, out, settings = run_with_metrics(sandbox, faults=faults, namespace=ns, history=history)
    record = history_line(history)
    assert (result.verdict == "passed") == bool(passed), out
    assert len(puts(sandbox, since)) == 1, "one batch after the run"
    cw = cloudwatch(sandbox)
    assert listed(cw, ns) == expected(result, record)
    dims = dict(BASE)

    def value(name, unit, stat="Sum", extra=()):
        return statistic(cw, ns, name, {**dims, **dict(extra)}, stat, unit)

    assert value("Passed", "Count") == passed
    assert value("Duration", "Milliseconds") == result.duration_ms
    assert value("FailedSteps", "Count") == sum(1 for s in result.steps if s.status == FAIL)
    assert (value("FailedSteps", "Count") > 0) == (not passed)
    assert value("Retries", "Count") == sum(record["retries"].values())
    assert value("ColdStart", "Count") == int(record["cold_start"])
    for phase, seconds in result.phase_seconds.items():
        assert value("PhaseDuration", "Milliseconds", extra={"Phase": str(phase)}) == pytest.approx(
            seconds * 1000, abs=0.01
        )
    for route, figures in record["routes"].items():
        extra = {"Route": route}
        assert value("RouteLatency", "Milliseconds", "SampleCount", extra) == figures["count"]
        assert value("RouteLatency", "Milliseconds", "Maximum", extra) == pytest.approx(figures["max_ms"], abs=0.06)
    # the units are what they say: asked in another unit, CloudWatch has nothing
    assert value("Duration", "Seconds") is None and value("Passed", "Percent") is None
    assert value("Duration", "Count") is None and value("RouteLatency", "Count", extra={"Route": "GET /diff"}) is None
    assert f"published to CloudWatch in 1 PutMetricData call (namespace {ns}" in out


def test_failing_counts_are_exact(sandbox):
    ns = fresh_namespace()
    result, _out, _settings = run_with_metrics(sandbox, faults=("no-audit",), namespace=ns)
    failed = sum(1 for s in result.steps if s.status == FAIL)
    assert failed >= 1 and result.verdict == "failed"
    cw = cloudwatch(sandbox)
    assert statistic(cw, ns, "FailedSteps", dict(BASE), "Sum", "Count") == failed
    assert statistic(cw, ns, "Passed", dict(BASE), "Maximum", "Count") == 0


@pytest.mark.slow
def test_a_readiness_run_publishes_ready_for_its_customer(sandbox):
    sandbox.seed_customer("acme")
    sandbox.seed_customer("beta:stale")
    for customer, ready in (("acme", 1), ("beta", 0)):
        ns = fresh_namespace()
        result, out, _ = run_with_metrics(sandbox, namespace=ns, preflight_only=True, readiness_for=[customer])
        assert result.readiness["answer"]["kind"] == ("ready" if ready else "refused"), out
        dims = {"Target": "sandbox", "Kind": "readiness", "Customer": customer}
        assert statistic(cloudwatch(sandbox), ns, "Ready", dims, "Sum", "Count") == ready
        assert ("Ready", tuple(sorted(dims.items()))) in listed(cloudwatch(sandbox), ns)


def test_a_gate_failure_is_passed_0_for_the_preflight(sandbox):
    ns = fresh_namespace()
    result, _out, _ = run_with_metrics(sandbox, namespace=ns, faults=("missing-route:/promote",), preflight_only=True)
    assert result.verdict == "gate_failed"
    dims = {"Target": "sandbox", "Kind": "preflight"}
    assert statistic(cloudwatch(sandbox), ns, "Passed", dims, "Sum", "Count") == 0


def test_no_dimension_carries_a_secret_or_an_id(sandbox):
    ns = fresh_namespace()
    result, _out, settings = run_with_metrics(sandbox, namespace=ns)
    values = [v for _name, dims in listed(cloudwatch(sandbox), ns) for _k, v in dims]
    for value in values:
        assert settings.token not in value and result.customer_id not in value and "zorora-e2e-test" not in value
        assert "?" not in value and "=" not in value and "127.0.0.1" not in value
    routes = {v for _n, dims in listed(cloudwatch(sandbox), ns) for k, v in dims if k == "Route"}
    assert routes and all(re.fullmatch(r"(GET|POST) /[a-z-]+", r) for r in routes), routes


@pytest.mark.parametrize(
    "url, sandbox_run, target",
    [
        (
            "https://abc123.execute-api.af-south-1.amazonaws.com/prod/api/v1",
            False,
            "abc123.execute-api.af-south-1.amazonaws.com/prod",
        ),
        (
            "https://user:s3cret@API.example.com:8443/stage2/api/v1?token=s3cret#frag",
            False,
            "api.example.com:8443/stage2",
        ),
        ("http://127.0.0.1:4567/prod/api/v1", True, "sandbox"),
        ("http://127.0.0.1:4567/prod/api/v1", False, "127.0.0.1:4567/prod"),
        ("https://host.example", False, "host.example"),
    ],
)
def test_target_is_host_and_stage_only(url, sandbox_run, target):
    assert target_of(url, sandbox_run) == target


def test_calls_keep_putmetricdatas_limits():
    data = [Datum("M", "Count", (float(i),), (("Target", "t"), ("N", str(i)))) for i in range(2500)]
    entries = metric_data(data, __import__("datetime").datetime(2026, 1, 1))
    calls = batches(entries)
    assert [len(c) for c in calls] == [MAX_PER_CALL, MAX_PER_CALL, 500]
    assert [e for c in calls for e in c] == entries  # every metric once, in order
    big = [dict(e, Dimensions=[{"Name": "D", "Value": "x" * 1000}] * 30) for e in entries[:200]]
    assert all(sum(len(str(e)) for e in c) < 1024 * 1024 for c in batches(big)) and len(batches(big)) > 1


def test_many_metrics_go_out_in_several_calls_and_all_arrive(sandbox):
    """The batching against moto's CloudWatch: 1 201 metrics, two calls, every one readable."""
    ns = fresh_namespace()
    settings = metrics_from(RunFlags(metrics=("cloudwatch",), metrics_namespace=ns), {})
    settings = __import__("dataclasses").replace(settings, endpoint_url=sandbox.cloudwatch_endpoint_url)
    from zorora_e2e_plugin.config.settings import Storage

    storage = Storage(region=sandbox.region, aws_access_key_id="x", aws_secret_access_key="y")
    data = [Datum("Many", "Count", (float(i),), (("Target", "t"), ("N", str(i)))) for i in range(1201)]
    since = len(sandbox.request_log)
    assert publish(data, settings, storage) == (1201, 2)
    assert len(puts(sandbox, since)) == 2
    assert len(listed(cloudwatch(sandbox), ns)) == 1201


@pytest.mark.parametrize(
    "flags, env, message",
    [
        ({"metrics": ("prometheus",)}, {}, "--metrics must be cloudwatch or emf"),
        ({"metrics": ("cloudwatch",), "metrics_namespace": "AWS/Lambda"}, {}, "not a CloudWatch namespace"),
        ({"metrics": ("cloudwatch",)}, {"ZORORA_E2E_METRICS_NAMESPACE": ":x"}, "ZORORA_E2E_METRICS_NAMESPACE"),
        ({"metrics": ("cloudwatch",), "metrics_namespace": "x" * 256}, {}, "1-255"),
        ({"metrics_namespace": "Mine"}, {}, "needs --metrics"),
    ],
)
def test_bad_metrics_settings_are_refused_before_anything_runs(flags, env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        metrics_from(RunFlags(**flags), env)


def test_namespace_from_the_environment_and_sinks_once():
    got = metrics_from(RunFlags(metrics=("emf,cloudwatch", "emf")), {"ZORORA_E2E_METRICS_NAMESPACE": "Mine"})
    assert got.sinks == ("emf", "cloudwatch") and got.namespace == "Mine"
    assert metrics_from(RunFlags(), {"ZORORA_E2E_METRICS_NAMESPACE": "Mine"}) is None


# ---------------------------------------------------------------- through the CLI: boto3's own endpoint settings

NO_PROXY_ENV = {k: v for k, v in CLEAN_ENV.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}


def cli(*args, env):
    """The CLI with no proxy settings (boto3 would send the endpoint's requests through one)."""
    return run_cli(*args, env={"NO_COLOR": "1", **env}, base_env=NO_PROXY_ENV)


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL"])
def test_the_endpoint_is_boto3s_own_setting(sandbox, variable):
    ns = fresh_namespace()
    env = {k: v for k, v in sandbox.env().items() if k != "AWS_ENDPOINT_URL_CLOUDWATCH"}
    env[variable] = sandbox.cloudwatch_endpoint_url
    if variable == "AWS_ENDPOINT_URL":  # the general one: S3 keeps its own
        env["AWS_ENDPOINT_URL_S3"] = sandbox.s3_endpoint_url
    done = cli(
        "run", "--preflight-only", "--client", "direct", "--metrics", "cloudwatch", "--metrics-namespace", ns, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        statistic(
            cloudwatch(sandbox),
            ns,
            "Passed",
            {"Target": target_of(sandbox.api_url), "Kind": "preflight"},
            "Sum",
            "Count",
        )
        == 1
    )


@pytest.mark.slow
@pytest.mark.parametrize("refusal", ["no-permission", "no-network"])
@pytest.mark.parametrize("token_ok", [True, False], ids=["passing", "gate-failing"])
def test_a_refused_publication_is_one_warning_and_changes_nothing(sandbox, refusal, token_ok):
    env = dict(sandbox.env())
    if not token_ok:
        env["ONA_API_TOKEN"] = "not-the-token"
    plain = cli("run", "--preflight-only", "--client", "direct", env=env)
    server = Refusing()
    with server:
        env["AWS_ENDPOINT_URL_CLOUDWATCH"] = (
            server.url if refusal == "no-permission" else f"http://127.0.0.1:{closed_port()}"
        )
        done = cli("run", "--preflight-only", "--client", "direct", "--metrics", "cloudwatch", env=env)
    assert done.returncode == plain.returncode == (0 if token_ok else 3), done.stdout + done.stderr
    warnings = [line for line in done.stdout.splitlines() if "metrics not published" in line]
    assert len(warnings) == 1, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    if refusal == "no-permission":
        assert server.requests and "AccessDenied" in warnings[0] and "cloudwatch:PutMetricData" in warnings[0]
    else:
        assert "could not be reached" in warnings[0]
    verdict = [
        line for line in plain.stdout.splitlines() if "Preflight" in line and ("passed" in line or "fail" in line)
    ][-1]
    assert verdict.split(" in ")[0] in done.stdout  # the same verdict line (its time aside)
    assert sandbox.token not in done.stdout + done.stderr


@pytest.mark.xdist_group("signals")  # SIGINT sent to this process: one worker takes them all
def test_an_interrupted_run_publishes_nothing(sandbox):
    from zorora_e2e_plugin.core.steps import Reporter

    class StopAtPhase1(Reporter):
        def phase_started(self, phase):
            if phase.id == 1:
                import signal

                os.kill(os.getpid(), signal.SIGINT)

    ns = fresh_namespace()
    since = len(sandbox.request_log)
    import io

    from zorora_e2e_plugin.report.console import make_console
    from zorora_e2e_plugin.run.options import RunOptions
    from zorora_e2e_plugin.run.validate import validate

    result, _out, settings = None, None, None
    from helpers.metrics import resolve, sandbox_target

    settings = resolve(
        RunFlags(client="direct", metrics=("cloudwatch",), metrics_namespace=ns), {}, target=sandbox_target(sandbox)
    )
    settings = __import__("dataclasses").replace(
        settings,
        metrics=__import__("dataclasses").replace(settings.metrics, endpoint_url=sandbox.cloudwatch_endpoint_url),
    )
    out = io.StringIO()
    result = validate(
        settings,
        console=make_console(file=out, no_color=True),
        options=RunOptions(observers=[StopAtPhase1()], history_env={"ZORORA_E2E_HISTORY": "0"}),
    )
    assert result.verdict == "interrupted"
    assert puts(sandbox, since) == [] and listed(cloudwatch(sandbox), ns) == set()
    assert "metrics: none published (the run was interrupted" in out.getvalue()


@pytest.mark.slow
def test_metrics_cost_nothing_unless_asked(sandbox):
    """A run without --metrics imports nothing of metrics/ (nor the canary); with it, CloudWatch's client comes
    from botocore directly, as S3's does: boto3 is never imported."""
    probe = (
        "import json, sys\nfrom zorora_e2e_plugin.cli import main\ncode = main(sys.argv[1:])\n"
        "print(json.dumps([code, sorted(m for m in sys.modules if m.startswith(('zorora_e2e_plugin.metrics', "
        "'zorora_e2e_plugin.canary', 'zorora_e2e_plugin.run.publish'))), 'boto3' in sys.modules]))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ONA_", "ZORORA_"))},
        **sandbox.env(),
        "ZORORA_E2E_HISTORY": "0",
    }
    runs = {}
    for extra in ([], ["--metrics", "cloudwatch"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, "run", "--preflight-only", "--client", "direct", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        runs[bool(extra)] = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert runs[False] == [0, [], False]
    assert runs[True][0] == 0 and "zorora_e2e_plugin.metrics.cloudwatch" in runs[True][1] and runs[True][2] is False


def test_a_loopback_endpoint_from_the_environment_never_goes_through_a_proxy(sandbox):
    """AWS_ENDPOINT_URL_CLOUDWATCH on loopback with HTTP(S)_PROXY set (to a port that refuses): the metrics still
    arrive, as the run's API and S3 requests to loopback do."""
    ns = fresh_namespace()
    dead = f"http://127.0.0.1:{closed_port()}"
    env = {**sandbox.env(), "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead}
    done = cli(
        "run", "--preflight-only", "--client", "direct", "--metrics", "cloudwatch", "--metrics-namespace", ns, env=env
    )
    assert done.returncode == 0 and "metrics not published" not in done.stdout, done.stdout + done.stderr
    assert (
        statistic(
            cloudwatch(sandbox),
            ns,
            "Passed",
            {"Target": target_of(sandbox.api_url), "Kind": "preflight"},
            "Sum",
            "Count",
        )
        == 1
    )


def test_in_zorora_a_sandbox_run_publishes_and_shows_what_it_published(host, monkeypatch):
    """`ml-validate-e2e --sandbox --metrics cloudwatch` in the REPL (the stand-in host): the same batch, read back."""
    from standin.harness import output

    import zorora_e2e_plugin

    monkeypatch.setenv("ONA_API_BASE_URL", "http://127.0.0.1:9/prod/api/v1")
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    monkeypatch.setenv("ZORORA_E2E_HISTORY", "0")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    repl.handle("ml-validate-e2e --sandbox --preflight-only --metrics cloudwatch --metrics-namespace InZorora")
    text = " ".join(output(repl).split())
    assert "metrics: 12 published to CloudWatch in 1 PutMetricData call (namespace InZorora" in text, text
    assert "Read back from the sandbox's CloudWatch, namespace InZorora (12 metrics)" in text
    assert "Passed - Count 1" in text and "each with Target=sandbox, Kind=preflight" in text
