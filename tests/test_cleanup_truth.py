""""Nothing left" only when it is true (issue 17 items 4 and 7): a listing that lags behind the run's own
writes, and another run using the same customer id.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from engine_helpers import objects_of, run_engine, step

from zorora_e2e_plugin.core.outcomes import FAIL, GATE_FAILED, PASS, PASSED
from zorora_e2e_plugin.core.steps import Reporter
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
    assert result.verdict == GATE_FAILED, text
    assert ANOTHER_RUN in step(result, "0.5").hint, text
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
