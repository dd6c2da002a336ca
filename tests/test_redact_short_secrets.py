"""Short secrets (issue 17 item 13): with `AWS_SECRET_ACCESS_KEY=test` (a common local default) every "test" was
masked, so the printed removal command named `--customer-id zorora-e2e-***-...`, the wrong customer. A secret
too short to be told from ordinary text is redacted only where it stands alone, never inside a word or the
run's own ids; the printed commands are always usable. (The long-secret guarantees are
tests/test_reliability_secrets.py.)
"""

from __future__ import annotations

import re
import shlex

import pytest
from helpers.cli import cli
from helpers.results import customer_keys
from helpers.sandbox import customer, module_sandbox

from zorora_e2e_plugin.core.redact import MASK, make_redactor

CUSTOMER = "zorora-e2e-test-20261206155810-1e86ef"


@pytest.mark.parametrize(
    "text",
    [
        f"wrote customer_tailored/{CUSTOMER}/latest_model.json",
        f"zorora-e2e sweep --customer-id {CUSTOMER} --bucket test-bucket --older-than 0s --yes",
        "contest attested testing_data",
    ],
)
def test_a_short_secret_inside_words_and_ids_is_left_alone(text):
    assert make_redactor(["test"])(text) == text


@pytest.mark.parametrize(
    "text, shown",
    [
        ("Authorization: Bearer test", f"Authorization: Bearer {MASK}"),
        ('{"secret": "test"}', f'{{"secret": "{MASK}"}}'),
        ("key=test&x=1", f"key={MASK}&x=1"),
        ("test", MASK),
    ],
)
def test_a_short_secret_standing_alone_is_still_redacted(text, shown):
    assert make_redactor(["test"])(text) == shown


def test_the_runs_own_ids_are_never_redacted_even_by_a_long_secret():
    secret = "20261206155810-1e86ef"  # a long secret that happens to sit inside the run's id
    redact = make_redactor([secret], keep=[CUSTOMER])
    text = f"--customer-id {CUSTOMER}; echoed token {secret} and a piece {secret[:8]}"
    assert redact(text) == f"--customer-id {CUSTOMER}; echoed token {MASK} and a piece {MASK}"
    assert make_redactor([secret])(CUSTOMER) != CUSTOMER  # without keep, the id would have been cut


def test_long_secrets_and_their_pieces_still_go():
    secret = "canary-TOKEN-3f9a7c21e0b54d68"
    text = f"Bearer {secret} / cut: {secret[-14:]} / xx{secret[3:12]}yy"
    redacted = make_redactor([secret])(text)
    for piece in (secret, secret[-14:], "3f9a7c21", "e0b54d68"):
        assert piece not in redacted


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, bucket="zorora-e2e-short-secret") as sb:
        yield sb


@pytest.mark.slow
def test_printed_removal_command_is_usable_with_a_short_aws_secret(sandbox):
    env = {**sandbox.env(), "AWS_SECRET_ACCESS_KEY": "test", "ZORORA_E2E_HISTORY": "0"}
    cid = customer("short")
    try:
        _run_and_sweep(sandbox, env, cid)
    finally:  # whatever the outcome, nothing of the run stays in the module's bucket
        for key in customer_keys(sandbox, cid):
            sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=key)


def _run_and_sweep(sandbox, env, cid):
    done = cli("run", "--yes", "--keep-data", "--no-color", "--customer-id", cid, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "zorora-e2e-***" not in done.stdout and "la***_model" not in done.stdout, done.stdout[-3000:]
    assert f"customer_tailored/{cid}/" in done.stdout
    line = next(line for line in done.stdout.splitlines() if "zorora-e2e sweep" in line)
    command = shlex.split(re.search(r"zorora-e2e sweep .*", line).group().rstrip("`.;"))
    assert command[command.index("--customer-id") + 1] == cid
    assert customer_keys(sandbox, cid)  # the data was kept
    swept = cli(*command[1:], env=env)  # the command as printed removes exactly the kept data
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert customer_keys(sandbox, cid) == []
