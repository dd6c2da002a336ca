"""Readiness after the engineer's own promotion (issue 30 item 1): `--for acme` named a challenger, the engineer
promoted it (POST /promote, as Zorora's ml-promote sends it), and asks again. Both questions must read the
registry as it now is: the named id "is already in production (since T, by A): nothing to promote"; without an
id "no challenger to promote: production is X since T". Neither is a failed step; both exit 5 (no ml-promote
to judge). A typo'd challenger id is not a failed step either: 6.1 warns, the answer is "not answerable".
"""

from __future__ import annotations

import pytest
import requests
from helpers.readiness import check

from zorora_e2e_plugin.core.outcomes import FAIL, PASS, PASSED, SKIP, WARN, ExitCode


@pytest.fixture(scope="module")
def promoted():
    """A sandbox whose customer `acme-done` had its evaluated challenger promoted by `alice-eng`; and `acme-typo`,
    untouched."""
    from zorora_e2e_plugin.sandbox import Sandbox

    sandbox = Sandbox().start()
    try:
        done = sandbox.seed_customer("acme-done")
        typo = sandbox.seed_customer("acme-typo")
        answer = requests.post(
            f"{sandbox.api_url}/promote",
            timeout=10,
            headers={"Authorization": f"Bearer {sandbox.token}", "X-Actor": "alice-eng"},
            json={
                "customer_id": done.customer_id,
                "model_id": done.challenger_id,
                "reason": "Promote after a passing readiness check",
                "actor": "alice-eng",
            },
        )
        assert answer.status_code == 200, answer.text
        yield sandbox, done, typo, answer.json()["promoted_at"]
    finally:
        sandbox.stop()


def statuses(result):
    return {s.id: s.status for s in result.steps if s.phase == 6}


def test_the_promoted_challenger_named_again_is_already_in_production(promoted):
    sandbox, c, _typo, promoted_at = promoted
    result, out, block = check(sandbox, c.customer_id, c.challenger_id)
    line = block["answer"]["line"]
    assert line == (
        f"ℹ {c.challenger_id} is already in production (since {promoted_at}, by alice-eng): nothing to promote"
    ), line
    assert block["answer"]["kind"] == "nothing" and block["challenger_id"] == c.challenger_id
    assert result.exit_code == ExitCode.NOT_ANSWERABLE == 5 and result.verdict == PASSED, out
    steps = statuses(result)
    assert FAIL not in steps.values() and WARN not in steps.values(), out
    assert steps["6.1"] == PASS and steps["6.3"] == SKIP and steps["6.5"] == SKIP and steps["6.6"] == SKIP, steps
    assert "is unknown" not in out and "✗" not in out and "to promote, type" not in out
    assert out.rstrip().splitlines()[-1] == line  # the answer is the run's last line


def test_without_an_id_there_is_no_challenger_to_promote(promoted):
    sandbox, c, _typo, promoted_at = promoted
    result, out, block = check(sandbox, c.customer_id)
    line = block["answer"]["line"]
    assert line == (
        f"ℹ no challenger to promote for {c.customer_id}: none is evaluated (1 still training); "
        f"production is {c.challenger_id} since {promoted_at}"
    ), line
    assert result.exit_code == 5 and result.verdict == PASSED, out
    steps = statuses(result)
    assert FAIL not in steps.values() and WARN not in steps.values() and steps["6.1"] == PASS, out
    assert "✗" not in out


def test_a_typo_in_the_challenger_id_warns_and_fails_no_step(promoted):
    sandbox, _c, typo, _at = promoted
    wanted = f"{typo.customer_id}/challenger_20990101_000000"
    result, out, block = check(sandbox, typo.customer_id, wanted)
    assert block["answer"]["line"].startswith(
        f"⚠ not answerable for {typo.customer_id}: challenger {wanted} is unknown"
    ), block["answer"]
    assert block["challenger_id"] == wanted  # the history labels the check with the id asked about
    steps = statuses(result)
    assert steps["6.1"] == WARN and FAIL not in steps.values(), out  # 6.3 and 6.5 do not fail for the 404s
    assert steps["6.3"] == SKIP and steps["6.5"] == SKIP, steps
    assert "ZE-LAMBDA-004" not in out and result.exit_code == 5
