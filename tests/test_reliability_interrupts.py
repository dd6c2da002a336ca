"""Ctrl-C at every step boundary of a full run, and in the middle of requests: `zorora-e2e run` in a
subprocess against a slowed-down sandbox, SIGINT after each step's line in turn. Every time: verdict
`interrupted`, exit 130, no traceback, cleanup ran and the customer's prefixes are empty.
A SIGKILL leaves data behind by nature: `zorora-e2e sweep` finds it and removes it.
"""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.cli import cli, run_and_signal, sigint_reaches_children
from helpers.figures import count, leftover_check
from helpers.results import customer_keys
from helpers.sandbox import customer, module_sandbox

# One worker runs the module: its 33 interrupted runs are made once, in the `outcomes` fixture (24 s alone on 2
# cores, a minute beside the rest of the suite: its first test's setup gets 300 s)
pytestmark = [pytest.mark.xdist_group("reliability_interrupts"), pytest.mark.timeout(300)]

LATENCY_MS = 150  # every API and S3 request: slow enough to land a signal inside a step
LATENCY = LATENCY_MS / 1000
# Print order of a full run's step lines; SIGINT right after each (the next wave is then in flight).
# After 5.1 the signal lands in 5.2, inside the shielded cleanup. After 5.2 the run is over.
BOUNDARIES = [
    "0.1",
    "0.3",
    "0.4",
    "0.2",
    "1.1",
    "1.2",
    "1.3",
    "1.4",
    "1.5",
    "1.6",
    "2.1",
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "3.1",
    "3.2",
    "3.3",
    "4.1",
    "4.2",
    "4.3",
    "4.4",
    "4.5",
    "5.1",
]
# In the middle of a request: a fraction of the latency after a line.
MID_REQUEST = [
    ("start", 0.3),
    ("0.2", 0.5),
    ("1.1", 0.5),
    ("2.5", 0.5),
    ("2.5", 2.5),
    ("3.1", 0.5),
    ("3.2", 0.5),
    ("3.2", 1.5),
    ("4.4", 0.5),
]
POINTS = [(step, 0.0) for step in BOUNDARIES] + [(step, LATENCY * k) for step, k in MID_REQUEST]


def point_id(point):
    step, delay = point
    return f"after-{step}" + (f"+{int(delay * 1000)}ms" if delay else "")


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, faults=[f"latency:{LATENCY_MS}"], bucket="zorora-e2e-rel-interrupts") as sb:
        yield sb


@pytest.fixture(scope="module")
def outcomes(sandbox):
    """Every interrupt point, four runs at a time (one customer each), run once for the module."""

    def interrupt(point):
        step, delay = point
        cid = customer("int")
        outcome = run_and_signal(
            sandbox.env(), ["run", "--client", "direct", "--no-color", "--customer-id", cid], after=step, delay=delay
        )
        outcome["customer"] = cid
        outcome["left"] = customer_keys(sandbox, cid)
        return outcome

    with sigint_reaches_children(), ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(POINTS, pool.map(interrupt, POINTS)))


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS, ids=point_id)
def test_sigint_ends_the_run_interrupted_and_cleaned(outcomes, sandbox, point):
    outcome = outcomes[point]
    out, err = outcome["stdout"], outcome["stderr"]
    count("interrupts")
    assert outcome["sent"], f"the run ended before the signal could be sent:\n{out}"
    assert outcome["code"] == 130, out + err
    assert "Traceback" not in out + err and "Exception ignored" not in out + err
    assert "nothing left in S3" in out, out
    if point[0] in ("4.5", "5.1") and "E2E validation passed" in out:
        # Under load the signal can land after 5.2 proved the prefixes empty: then it changes only the exit code
        # (deterministic either way: the signal is recorded before anything can drop it).
        assert "✓ 5.2" in out and "may not have finished" not in out, out
    else:
        assert "E2E validation interrupted" in out, out
    assert not re.search(r"✗ 5\.\d", out), out  # cleanup itself never failed
    if re.search(r"[✓✗] 1\.[2-6]", out):  # test data was written: 5.2 proved the prefixes empty
        assert re.search(r"✓ 5\.2 .*prefixes", out) or "✓ 5.2" in out, out
    assert leftover_check(outcome["left"]) == []


@pytest.mark.slow
@pytest.mark.parametrize("after", ["1.6", "3.1"])
def test_sigkill_leaves_data_that_sweep_finds_and_removes(sandbox, after):
    """SIGKILL cannot be handled: the data stays. `zorora-e2e sweep` lists it and deletes exactly it."""
    cid = customer("kill")
    outcome = run_and_signal(
        sandbox.env(),
        ["run", "--client", "direct", "--no-color", "--customer-id", cid],
        after=after,
        sig=signal.SIGKILL,
    )
    assert outcome["sent"] and outcome["code"] == -signal.SIGKILL
    left = customer_keys(sandbox, cid)
    assert len(left) >= 4, left  # the test world (and, after 3.1, an archive)
    if after == "3.1":
        assert any("/archived/" in k for k in left)

    listed = cli("sweep", "--older-than", "0s", "--dry-run", "--customer-id", cid, env=sandbox.env())
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert cid in listed.stdout and f"{len(left)} object(s)" in listed.stdout and "Dry run" in listed.stdout
    assert customer_keys(sandbox, cid) == left

    swept = cli("sweep", "--older-than", "0s", "--yes", "--customer-id", cid, env=sandbox.env())
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert f"Deleted {len(left)} object(s)" in swept.stdout
    count("kills")
    assert leftover_check(customer_keys(sandbox, cid)) == []
