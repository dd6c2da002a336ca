""" "Nothing left" only when it is true (issue 17 items 4 and 7): a listing that lags behind the run's own
writes, and another run using the same customer id.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import threading
import uuid

import pytest
from helpers.cli import CLEAN_ENV, SCRIPT
from helpers.engine import run_engine
from helpers.results import objects_of, step
from helpers.wire import LoopbackServer, QuietHandler, forward

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, GATE_FAILED, PASS, PASSED, WARN
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.s3.customer_state import customer_prefixes
from zorora_e2e_plugin.sandbox import Sandbox

ANOTHER_RUN = "another run is using this customer id"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-truth-{uuid.uuid4().hex[:8]}") as sb:
        yield sb


# ----------------------------------------------------------------------------- item 4: a lagging listing


def test_objects_a_lagging_listing_does_not_name_are_deleted_and_headed(sandbox):
    """The metrics the run wrote (and read back through the API) are missing from every listing."""
    sandbox.request_log.clear()
    result, text = run_engine(sandbox, ["listing-lag:backtest_results"])
    assert objects_of(sandbox, result.customer_id) == [], text
    assert result.verdict == PASSED, text
    assert result.cleanup.proven_empty
    metrics = [k for k in customer_prefixes(result.customer_id) if k.startswith("model_metrics/")][0]
    heads = [r.path for r in sandbox.request_log if r.kind == "s3" and r.method == "HEAD" and metrics in r.path]
    assert len(heads) >= 3, "5.2 proves the unlisted objects gone with a HEAD of each"  # 2 metrics + the gate's
    deleted = {k for r in sandbox.request_log if r.kind == "s3" for k in r.keys}
    assert sum(k.startswith(metrics) for k in deleted) == 3


# ----------------------------------------------------------------------------- item 7: two runs, one customer id


class AtPhase(Reporter):
    def __init__(self, phase, action):
        self.phase, self.action, self.done = phase, action, False

    def phase_started(self, phase):
        if phase.id == self.phase and not self.done:
            self.done = True
            self.action()


def test_a_second_run_on_a_busy_customer_id_says_so_and_touches_nothing(sandbox):
    """The second run finds the first's claim on the customer id: 0.4 fails (a setting: exit 2), 0.5 does not judge
    the other run's objects, nothing else is written or deleted."""
    customer = f"zorora-e2e-test-shared-{uuid.uuid4().hex[:6]}"
    second = {}

    def run_second():
        try:
            second["result"], second["text"] = run_engine(sandbox, customer_id=customer)
        except BaseException as exc:  # shown by the assertion below
            second["error"] = exc

    def start_second_run():  # the first run has written its test data; the second starts now
        worker = threading.Thread(target=run_second)
        worker.start()
        worker.join(120)

    first, first_text = run_engine(sandbox, customer_id=customer, observers=[AtPhase(2, start_second_run)])
    assert "error" not in second, repr(second.get("error"))
    result, text = second["result"], second["text"]
    assert result.verdict == GATE_FAILED and result.exit_code == 2, text
    claim = step(result, "0.4")
    assert claim.status == FAIL and claim.diagnosis["id"] == "ZE-RUN-006" and claim.diagnosis["whose"] == "settings"
    assert f"another run is using customer id {customer}" in claim.hint and "claim" in claim.actual, text
    assert (
        step(result, "0.5").status == PASS
        and "another run is using the customer id: see 0.4" in step(result, "0.5").actual
    ), text
    assert not any(s.phase == 5 for s in result.steps), text  # it wrote nothing: nothing to clean up
    assert first.verdict == PASSED, first_text  # the second run deleted nothing of the first's
    assert objects_of(sandbox, customer) == []


def test_objects_another_run_writes_meanwhile_are_named_and_removed(sandbox):
    customer = f"zorora-e2e-test-shared-{uuid.uuid4().hex[:6]}"
    theirs = f"model_metrics/{customer}/production/model_20260101_000000/backtest_results.json"

    def another_run_writes():
        sandbox.s3_client().put_object(Bucket=sandbox.bucket, Key=theirs, Body=b"{}")

    result, text = run_engine(sandbox, customer_id=customer, observers=[AtPhase(4, another_run_writes)])
    cleanup = step(result, "5.1")
    assert cleanup.status == FAIL, text
    assert ANOTHER_RUN in cleanup.hint and "Leave the id to the run" in cleanup.hint
    assert theirs in cleanup.actual
    assert step(result, "5.2").status == PASS
    assert objects_of(sandbox, customer) == []


# ----------------------------------------------------------------------------- issue 29 item 13: the claim


def _claim_key(customer: str) -> str:
    return f"customer_tailored/{customer}/zorora-e2e-claim.txt"


def _versions_of(sandbox, customer):
    s3 = sandbox.s3_client()
    found = []
    for prefix in customer_prefixes(customer):
        page = s3.list_object_versions(Bucket=sandbox.bucket, Prefix=prefix)
        found += [v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_two_runs_started_together_on_one_customer_id_one_runs_and_the_other_writes_nothing(versioned, tmp_path):
    """CI jobs sharing TEST_CUSTOMER_ID, started together: each blamed the deployment ("concurrent promotion", "a
    rejected request modified the registry"). The first to write its claim (If-None-Match: *) runs and passes; the
    other exits 2 at 0.4, "another run is using customer id C", having written and deleted nothing; nothing is
    left (in a versioned bucket, no version either)."""
    customer = f"zorora-e2e-test-together-{uuid.uuid4().hex[:6]}"
    with Sandbox(bucket=f"zorora-e2e-claim-{uuid.uuid4().hex[:8]}", versioned=versioned, faults=["latency:100"]) as sb:
        jobs = [
            subprocess.Popen(
                [SCRIPT, "run", "--client", "direct", "--no-color", "--json", str(tmp_path / f"{i}.json")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
                env={**CLEAN_ENV, **sb.env(), "TEST_CUSTOMER_ID": customer},
            )
            for i in range(2)
        ]
        outputs = [job.communicate(timeout=180) for job in jobs]
        codes = [job.returncode for job in jobs]
        assert sorted(codes) == [0, 2], outputs
        winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
        ran = json.loads((tmp_path / f"{winner}.json").read_text())
        assert ran["verdict"] == PASSED and {s["status"] for s in ran["steps"]} == {PASS}, outputs[winner][0]
        lost = json.loads((tmp_path / f"{loser}.json").read_text())
        steps = {s["id"]: s for s in lost["steps"]}
        assert steps["0.4"]["status"] == FAIL and steps["0.4"]["diagnosis"]["id"] == "ZE-RUN-006"
        assert f"another run is using customer id {customer}" in outputs[loser][0]
        verdict = next(line for line in outputs[loser][0].splitlines() if line.startswith("✗"))
        assert verdict.startswith("✗ Preflight gate failed (step 0.4)") and "fix your settings" in verdict, verdict
        assert not any(i.startswith("5.") for i in steps), steps  # no cleanup: it wrote nothing
        writes = [r for r in sb.request_log if r.kind == "s3" and r.method in ("PUT", "DELETE")]
        assert sorted(r.status for r in writes if _claim_key(customer) in r.path) == [200, 412], writes
        assert not [r for r in writes if r.method == "DELETE"]  # a full run deletes in batches only: none of the
        # loser's
        assert objects_of(sb, customer) == []
        assert _versions_of(sb, customer) == []


@pytest.mark.slow
def test_a_killed_runs_claim_blocks_the_id_until_the_printed_sweep_removes_it(sandbox):
    """A run killed (SIGKILL) before its cleanup leaves its claim: the next run on that id exits 2 saying how old
    the claim is and which sweep removes it; after that sweep the id is free again."""
    customer = f"zorora-e2e-test-killed-{uuid.uuid4().hex[:6]}"
    sandbox.s3_client().put_object(
        Bucket=sandbox.bucket,
        Key=_claim_key(customer),
        Body=b"zorora-e2e run 0123456789abcdef claimed test customer (killed)\n",
    )
    env = {**CLEAN_ENV, **sandbox.env(), "TEST_CUSTOMER_ID": customer}
    blocked = subprocess.run(
        [SCRIPT, "run", "--no-color", "--client", "direct"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert blocked.returncode == 2, blocked.stdout
    text = " ".join(blocked.stdout.split())
    assert f"another run is using customer id {customer}" in text and " s ago" in text, text
    sweep = re.search(r"`(zorora-e2e sweep [^`]+)`", text).group(1)
    assert f"--customer-id {customer}" in sweep
    swept = subprocess.run(
        sweep.replace("zorora-e2e", SCRIPT, 1).split(),
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert swept.returncode == 0 and objects_of(sandbox, customer) == [], swept.stdout + swept.stderr
    free = subprocess.run(
        [SCRIPT, "run", "--no-color", "--client", "direct"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert free.returncode == 0, free.stdout
    assert objects_of(sandbox, customer) == []


class AfterStep(Reporter):
    def __init__(self, step_id, action):
        self.step_id, self.action = step_id, action

    def step_finished(self, result):
        if result.id == self.step_id:
            self.action()


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_a_claim_another_run_makes_once_the_cleanup_released_the_id_is_left_to_it(versioned):
    """A job that starts as this run's cleanup deleted its claim may claim the id at once: 5.2 proves this run's
    claim gone without counting, deleting or un-versioning the other run's."""
    customer = f"zorora-e2e-test-next-{uuid.uuid4().hex[:6]}"
    theirs = b"zorora-e2e run fedcba9876543210 claimed test customer (the next job)\n"
    with Sandbox(bucket=f"zorora-e2e-next-{uuid.uuid4().hex[:8]}", versioned=versioned) as sb:

        def next_job_claims():
            sb.s3_client().put_object(Bucket=sb.bucket, Key=_claim_key(customer), Body=theirs, IfNoneMatch="*")

        result, text = run_engine(sb, customer_id=customer, observers=[AfterStep("5.1", next_job_claims)])
        assert result.verdict == PASSED and result.cleanup.proven_empty, text
        assert "1 object(s) left" not in text
        assert objects_of(sb, customer) == [_claim_key(customer)]
        body = sb.s3_client().get_object(Bucket=sb.bucket, Key=_claim_key(customer))["Body"].read()
        assert body == theirs
        if versioned:
            assert _versions_of(sb, customer) == [_claim_key(customer)]  # only theirs: this run's are gone


@pytest.mark.slow
def test_an_s3_that_refuses_conditional_writes_gets_the_claim_without_and_a_warning(sandbox):
    """An S3-compatible endpoint answering 501 NotImplemented to If-None-Match: the claim is written without the
    condition, and 0.4 passes with a warning naming it (AWS S3 takes it; the sandbox's moto does too)."""
    port = int(sandbox.s3_endpoint_url.rsplit(":", 1)[1].split("/")[0])
    with NoConditionalWrites(port) as front:
        out = io.StringIO()
        target = dataclasses.replace(sandbox_target(sandbox), s3_endpoint_url=front.url)
        result = validate(
            resolve(RunFlags(client="direct"), {}, target=target), console=make_console(file=out, no_color=True)
        )
        text = out.getvalue()
    claim = step(result, "0.4")
    assert result.verdict == PASSED and claim.status == WARN, text
    assert claim.diagnosis["id"] == "ZE-RUN-007" and "NotImplemented" in claim.actual, text
    assert front.refused >= 1
    assert objects_of(sandbox, result.customer_id) == []


class NoConditionalWrites(LoopbackServer):
    """A reverse proxy in front of an S3 endpoint that answers a PUT with If-None-Match as an S3 without conditional
    writes does (501 NotImplemented); counts them."""

    def __init__(self, upstream_port: int):
        self.refused = 0

        class Handler(QuietHandler):
            def _any(self):
                if self.command == "PUT" and self.headers.get("If-None-Match"):
                    length = int(self.headers.get("Content-Length") or 0)
                    if length:
                        self.rfile.read(length)
                    self.server.owner.refused += 1
                    body = (
                        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A '
                        b"header you provided implies functionality that is not implemented</Message></Error>"
                    )
                    self.send_response(501)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                forward(self, upstream_port, self.path)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        super().__init__(Handler)
