"""Sweep judges ages by S3's clock, never this machine's (issue 17 item 5). The sandbox's `s3-clock` fault
moves S3's clock (its Date headers and every LastModified) away from the machine's, so these tests hold
whatever the two clocks say, as on a real machine whose clock is off.
"""

from __future__ import annotations

import uuid

import pytest
from helpers.cli import cli
from helpers.engine import run_engine
from helpers.results import bucket_keys, put

from zorora_e2e_plugin.config.faces import CLI
from zorora_e2e_plugin.s3.customer_state import customer_prefixes
from zorora_e2e_plugin.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-clock-{uuid.uuid4().hex[:8]}") as sb:
        yield sb


def seed(sandbox):
    customer = f"zorora-e2e-test-clock-{uuid.uuid4().hex[:6]}"
    for prefix in customer_prefixes(customer):
        put(sandbox, prefix + "object.json")
    return customer


def sweep(sandbox, skew, *args):
    sandbox.set_faults([f"s3-clock:{skew}"])
    try:
        return cli("sweep", *args, env=sandbox.env())
    finally:
        sandbox.set_faults([])


@pytest.mark.slow
def test_the_command_keep_data_prints_removes_everything_with_the_machine_10s_behind_s3(sandbox):
    result, text = run_engine(sandbox, ["s3-clock:10"], keep_data=True)
    assert result.cleanup.kept and bucket_keys(sandbox), text
    printed = CLI.sweep_command(
        result.customer_id, sandbox.bucket, None, sandbox.s3_endpoint_url
    )  # as --keep-data prints it
    args = printed.split()[2:]  # after "zorora-e2e sweep"
    done = sweep(sandbox, 10, *args)
    assert done.returncode == 0 and "Deleted" in done.stdout, done.stdout + done.stderr
    assert [k for p in customer_prefixes(result.customer_id) for k in bucket_keys(sandbox, p)] == []


def test_every_customer_older_than_0s_is_found_by_s3s_clock(sandbox):
    customer = seed(sandbox)
    done = sweep(sandbox, 10, "--older-than", "0s", "--yes")
    assert done.returncode == 0 and customer in done.stdout, done.stdout + done.stderr
    assert bucket_keys(sandbox) == []


@pytest.mark.slow
def test_with_s3_an_hour_behind_fresh_data_is_not_an_hour_old(sandbox):
    """The dangerous direction: by the machine's clock a running run's data would look an hour old."""
    customer = seed(sandbox)
    done = sweep(sandbox, -3600, "--older-than", "30m", "--yes")
    assert done.returncode == 0 and "No zorora-e2e-test-* data older than 30m" in done.stdout, done.stdout
    assert len(bucket_keys(sandbox)) == 3
    gone = sweep(sandbox, -3600, "--customer-id", customer, "--older-than", "0s", "--yes")
    assert gone.returncode == 0 and bucket_keys(sandbox) == [], gone.stdout
