"""The fault matrix: every sandbox fault, S3 and the API going away after each phase, broken bodies,
a server that hangs, a server that answers 200 without doing the work.

For each: a clear verdict, a non-zero exit code, the failing step named, and afterwards either the
customer's prefixes proven empty or, where S3 itself is down, the exact leftover keys printed with the
sweep command that removes them (which the test then runs).
"""

from __future__ import annotations

import io
import json
import re
import shlex

import pytest
from helpers.cli import cli
from helpers.figures import count, leftover_check
from helpers.results import customer_keys
from helpers.sandbox import HangFrom, customer, module_sandbox

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASS, PASSED, SKIP
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox

VERDICT_LINES = {
    FAILED: "✗ E2E validation failed",
    GATE_FAILED: "✗ Preflight gate failed",
    PASSED: "E2E validation passed",
    INTERRUPTED: "E2E validation interrupted",
}


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, bucket="zorora-e2e-rel-faults") as sb:
        yield sb


def run(sandbox, faults=(), observers=(), **flags):
    """One in-process validation; returns (result, plain console text). Faults are reset afterwards."""
    sandbox.set_faults(list(faults))
    try:
        flags = {"client": "direct", "timeout": "2", "customer_id": customer("flt"), **flags}
        settings = resolve(RunFlags(**flags), {}, target=sandbox_target(sandbox))
        out = io.StringIO()
        result = validate(
            settings, console=make_console(file=out, no_color=True), options=RunOptions(observers=list(observers))
        )
    finally:
        sandbox.set_faults([])
    return result, out.getvalue()


def failed_ids(result):
    return [s.id for s in result.steps if s.status == FAIL]


def assert_named(result, text, step_id):
    assert step_id in failed_ids(result), (failed_ids(result), text)
    assert re.search(rf"^\s+✗ {re.escape(step_id)}\s", text, re.M), text
    verdict = [line for line in text.strip().splitlines() if " report written to " not in line][-1]  # (said after it)
    assert verdict.startswith(VERDICT_LINES[result.verdict]), verdict
    assert step_id in verdict, verdict  # the verdict line names the failing steps


# (faults, verdict, exit code, a failing step that must be named, a fragment of its diagnosis)
BREAKING = [
    (["stage-prefix"], GATE_FAILED, 3, "0.5", "stage prefix"),
    (["bad-token"], GATE_FAILED, 3, "0.2", "INTERNAL_API_TOKEN"),
    (["missing-route:/challengers"], GATE_FAILED, 3, "0.1", "no route for GET /challengers"),
    (["missing-route:/metrics"], GATE_FAILED, 3, "0.5", "no route for GET /metrics/{model_id+}"),
    (["missing-route:/diff"], GATE_FAILED, 3, "0.5", "no route for GET /diff"),
    (["missing-route:/promote"], GATE_FAILED, 3, "0.5", "no route for POST /promote"),
    (["missing-route:/rollback"], GATE_FAILED, 3, "0.5", "no route for POST /rollback"),
    (["missing-route:/audit-log"], GATE_FAILED, 3, "0.5", "no route for GET /audit-log"),
    (["metrics-non-greedy"], GATE_FAILED, 3, "0.5", "not greedy"),
    (["no-latest-alias"], FAILED, 1, "3.1", "production/latest"),
    (["fixed-actor"], FAILED, 1, "3.1", "neither the body's 'actor' nor the X-Actor header"),
    (["no-rollback-archive"], FAILED, 1, "3.3", "did not archive the one it replaced"),
    (["no-gates"], FAILED, 1, "4.6", "promoted a challenger that fails its gates"),
    (["no-audit"], FAILED, 1, "3.1", "did not append an audit event"),
    (["no-archive"], FAILED, 1, "3.1", "did not archive"),
    (["flaky:100"], GATE_FAILED, 3, "0.5", "HTTP 503"),
    (["html-200"], GATE_FAILED, 3, "0.1", "not JSON"),
    (["html-200:/diff"], FAILED, 1, "2.4", "not JSON"),
    (["truncated-json"], GATE_FAILED, 3, "0.1", "not JSON"),
    (["truncated-json:/audit-log"], FAILED, 1, "2.5", "not JSON"),
    (["truncated-json:/promote"], FAILED, 1, "3.1", "not JSON"),  # promoted, then the answer was cut
    (["huge-body"], GATE_FAILED, 3, "0.1", "not JSON"),
    (["huge-body:/metrics"], FAILED, 1, "2.2", ""),
    (["huge-body:/rollback"], FAILED, 1, "3.3", ""),  # rolled back, then a 10 MB answer
    (["hang"], GATE_FAILED, 3, "0.1", "--timeout"),
    (["hang:/promote"], GATE_FAILED, 3, "0.5", "POST /promote: no answer"),
    (["noop-promote"], FAILED, 1, "3.1", "the registry in S3 did not change"),
    (["noop-rollback"], FAILED, 1, "3.3", "the registry in S3 was not restored"),
    (["echo-auth", "stage-prefix"], GATE_FAILED, 3, "0.5", "stage prefix"),
]


@pytest.mark.parametrize("faults, verdict, code, step_id, hint", BREAKING, ids=[",".join(case[0]) for case in BREAKING])
def test_a_broken_target_fails_the_named_step_and_leaves_nothing(
    sandbox, tmp_path, faults, verdict, code, step_id, hint
):
    count("faults")
    report = tmp_path / "r.json"
    timeout = "1" if faults[0].startswith(("latency", "hang")) else "2"
    result, text = run(sandbox, faults, timeout=timeout, json_path=str(report))
    assert (result.verdict, result.exit_code) == (verdict, code), text
    assert_named(result, text, step_id)
    step = next(s for s in result.steps if s.id == step_id)
    flat = " ".join((step.actual + " " + step.hint).split())
    assert hint.lower() in flat.lower(), flat
    assert "Traceback" not in text
    assert len(text) < 60_000 and report.stat().st_size < 60_000  # a 10 MB body is never echoed
    assert result.cleanup.leftover == []
    assert leftover_check(customer_keys(sandbox, result.customer_id)) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "faults",
    [
        ["latency:50"],
        ["cold-start:1500"],
        ["echo-auth"],
        ["flaky:25"],
        ["actor-from-header"],
        ["keep-restored-archive"],
    ],
    ids=lambda v: v[0],
)
def test_a_slow_or_noisy_but_working_target_passes_or_names_the_cause(sandbox, faults):
    """Slowness within --timeout and occasional 5xx (retried) are not failures; echo-auth breaks nothing."""
    count("faults")
    result, text = run(sandbox, faults, timeout="5")
    if faults[0].startswith("flaky") and result.verdict == FAILED:  # the retries ran out: say so
        assert all("503" in s.actual or "Service Unavailable" in s.actual for s in result.steps if s.status == FAIL), (
            text
        )
    else:
        assert result.verdict == PASSED and result.exit_code == 0, text
    assert sandbox.token not in text
    assert leftover_check(customer_keys(sandbox, result.customer_id)) == []


class BreakAt(Reporter):
    """Makes S3 or the API unreachable when phase `phase` starts (i.e. right after phase - 1)."""

    def __init__(self, sandbox, which, phase):
        self.sandbox, self.which, self.phase = sandbox, which, phase

    def phase_started(self, phase):
        if phase.id == self.phase:
            self.sandbox.make_unreachable(self.which)


@pytest.mark.slow
@pytest.mark.parametrize("after", [0, 1, 2, 3, 4])
def test_s3_unreachable_after_each_phase_prints_the_exact_leftovers_and_the_sweep_that_removes_them(after):
    count("unreachable")
    with Sandbox(bucket=f"zorora-e2e-rel-s3down-{after}") as sb:
        result, text = run(sb, observers=[BreakAt(sb, "s3", after + 1)])
        assert result.verdict == FAILED and result.exit_code == 1, text
        first = {0: "1.2", 1: "3.1", 2: "3.1", 3: "4.6", 4: "5.1"}[after]
        assert_named(result, text, first)
        assert "EndpointConnectionError" in text or "Could not connect" in text
        actual = customer_keys(sb, result.customer_id)  # through the sandbox's own, fault-free endpoint
        if after == 0:  # nothing was written yet but the run's claim on its customer id (0.4): named, and swept
            claim = f"customer_tailored/{result.customer_id}/zorora-e2e-claim.txt"
            assert actual == [claim] and result.cleanup.leftover == [claim], (actual, result.cleanup.leftover)
        leftover = result.cleanup.leftover
        named = [k for k in leftover if not k.endswith("/*")]
        folders = [k[:-1] for k in leftover if k.endswith("/*")]
        assert set(named) <= set(actual), (named, actual)  # every key printed exists ...
        assert all(k in named or any(k.startswith(f) for f in folders) for k in actual)  # ... and covers all
        if after >= 3 or after == 0:  # the archives listed after the last promote/rollback (or none): by name
            assert folders == [] and sorted(named) == actual
        else:  # promoted while S3 was down: the archive names were never listed
            assert folders == [f"customer_tailored/{result.customer_id}/archived/"]
        for key in leftover:
            assert f"s3://{sb.bucket}/{key}" in text
        command = re.search(r"Remove them with:\s*\n\s*(zorora-e2e sweep .*)$", text, re.M).group(1)  # its own line
        assert f"--customer-id {result.customer_id}" in command and f"--bucket {sb.bucket}" in command
        assert f"--s3-endpoint-url {sb.s3_endpoint_url}" in command  # the same S3 the run wrote to

        # S3 is back, at the sandbox's internal endpoint (the public listener stays closed): the printed
        # command, pointed there, removes exactly those objects.
        other = customer("bystander")
        sb.s3_client().put_object(Bucket=sb.bucket, Key=f"audit_logs/{other}/events.json", Body=b"{}")
        args = shlex.split(command.replace(sb.s3_endpoint_url, sb.internal_s3_endpoint_url))[1:]
        done = cli(*args, env=sb.env())
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Deleted {len(actual)} object(s)" in done.stdout
        assert leftover_check(customer_keys(sb, result.customer_id)) == []
        assert customer_keys(sb, other) == [f"audit_logs/{other}/events.json"]  # another run's data: untouched


@pytest.mark.slow
@pytest.mark.parametrize("after", [0, 1, 2, 3, 4])
def test_api_unreachable_after_each_phase_fails_the_next_api_step_and_cleans_up(after):
    count("unreachable")
    with Sandbox(bucket=f"zorora-e2e-rel-apidown-{after}") as sb:
        result, text = run(sb, observers=[BreakAt(sb, "api", after + 1)])
        if after == 4:  # cleanup needs only S3
            assert result.verdict == PASSED and result.exit_code == 0, text
        else:
            assert result.verdict == FAILED and result.exit_code == 1, text
            assert_named(result, text, {0: "2.1", 1: "2.1", 2: "3.1", 3: "4.1"}[after])
            assert all(s.status != PASS for s in result.steps if s.id in ("4.3", "4.4")), text
        assert "✓ 5.2" in text and result.cleanup.leftover == []
        assert leftover_check(customer_keys(sb, result.customer_id)) == []


@pytest.mark.slow
def test_the_overall_deadline_ends_a_run_whose_server_hangs():
    """--timeout 30 would wait; --deadline 4 ends the run, and cleanup still runs (it has its own budget)."""
    count("faults")
    with Sandbox(bucket="zorora-e2e-rel-deadline") as sb:
        result, text = run(sb, observers=[HangFrom(sb, "/rollback", 3)], timeout="30", deadline="4")
        assert result.verdict == FAILED and result.exit_code == 1, text
        assert_named(result, text, "3.3")
        step = next(s for s in result.steps if s.id == "3.3")
        assert "deadline" in step.actual and "hanging" in step.hint
        assert {s.status for s in result.steps if s.phase == 4} == {SKIP}
        # ended by the deadline (4 s) and the cleanup's own budget, long before --timeout 30 would have let the
        # hung request go: < 20 s, not the 12 s it takes alone (4 processes on 2 cores stretched it to 12.6 s once)
        assert result.duration_ms < 20_000, result.duration_ms
        assert "✓ 5.2" in text
        assert leftover_check(customer_keys(sb, result.customer_id)) == []


def test_the_json_report_of_a_failed_run_names_the_step_and_the_fix(sandbox, tmp_path):
    report = tmp_path / "r.json"
    result, _ = run(sandbox, ["noop-promote"], json_path=str(report))
    data = json.loads(report.read_text())
    failed = [s for s in data["steps"] if s["status"] == FAIL]
    assert [s["id"] for s in failed] == ["3.1"] and "did not change" in failed[0]["hint"]
    assert data["cleanup"]["leftover"] == [] and data["verdict"] == FAILED
