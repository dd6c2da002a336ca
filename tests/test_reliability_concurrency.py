"""Four validations at once against one sandbox: all pass, none sees another's data, the bucket ends empty.

The customer ids are chosen so that one is a prefix of another (`…-7`, `…-7-1`, `…-77`): a run that
listed `customer_tailored/<id>` without the trailing slash would see its neighbour's objects and fail.
"""

from __future__ import annotations

import io
import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.cli import CLEAN_ENV, SCRIPT
from helpers.figures import count, leftover_check, register_figures
from helpers.results import bucket_keys

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import PASS, PASSED
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox

PARALLEL = 4


def neighbours(tag: str):
    base = f"zorora-e2e-test-{tag}-{uuid.uuid4().hex[:6]}-7"
    return [base, base + "-1", base + "-11", base + "7"][:PARALLEL]


@pytest.fixture(scope="module")
def sandbox(request):
    register_figures(request.config)
    with Sandbox(bucket="zorora-e2e-rel-parallel", faults=["latency:40"]) as sb:
        yield sb


@pytest.mark.slow
def test_four_cli_runs_in_parallel_all_pass_and_leave_the_bucket_empty(sandbox, tmp_path):
    ids = neighbours("par")
    procs = []
    for cid in ids:
        procs.append(
            subprocess.Popen(
                [
                    SCRIPT,
                    "run",
                    "--client",
                    "direct",
                    "--no-color",
                    "--customer-id",
                    cid,
                    "--json",
                    str(tmp_path / f"{cid}.json"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
                env={**CLEAN_ENV, **sandbox.env()},
            )
        )
    outputs = [p.communicate(timeout=120) for p in procs]
    for cid, proc, (out, err) in zip(ids, procs, outputs):
        assert proc.returncode == 0, out + err
        data = json.loads((tmp_path / f"{cid}.json").read_text())
        assert data["verdict"] == PASSED and data["customer_id"] == cid
        steps = {s["id"]: s for s in data["steps"]}
        # what each run saw was its own: 1.1 empty prefixes, 2.1 exactly its challenger, 2.5/3.2 its own
        # audit events only, 4.5 its registry untouched by the others
        assert all(steps[i]["status"] == PASS for i in ("1.1", "2.1", "2.5", "3.2", "4.5")), steps
    count("parallel", PARALLEL)
    assert leftover_check(bucket_keys(sandbox)) == []


@pytest.mark.slow
def test_four_in_process_runs_in_parallel_threads_all_pass(sandbox):
    """The same, as threads of one process (the REPL's case): one boto3 session, one environment."""
    ids = neighbours("thr")

    def one(cid):
        settings = resolve(RunFlags(client="direct", customer_id=cid), {}, target=sandbox_target(sandbox))
        return validate(settings, console=make_console(file=io.StringIO(), no_color=True))

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(one, ids))
    for cid, result in zip(ids, results):
        assert result.verdict == PASSED, [(s.id, s.actual) for s in result.steps if s.status != PASS]
        assert result.customer_id == cid and result.cleanup.leftover == []
    count("parallel", PARALLEL)
    assert leftover_check(bucket_keys(sandbox)) == []
