"""`zorora-e2e sweep`: finds every zorora-e2e-test-* customer under the three prefixes, lists it, deletes
it after confirmation, and never touches anything else: look-alike keys are seeded and proven untouched,
byte for byte. (S3 cannot backdate LastModified: `--older-than 0s` is "everything", `1h` is "nothing".)
"""

from __future__ import annotations

import re

import pytest
from helpers.cli import cli
from helpers.figures import count, register_figures
from helpers.results import bucket_keys, empty_bucket, put, read

from zorora_e2e_plugin.sandbox import Sandbox

TEST_DATA = {  # two killed runs' leftovers
    "customer_tailored/zorora-e2e-test-killed-1/latest_model.json",
    "customer_tailored/zorora-e2e-test-killed-1/archived/zorora-e2e-test-killed-1/production/model_1_2.json",
    "model_metrics/zorora-e2e-test-killed-1/production/model_1/backtest_results.json",
    "model_metrics/zorora-e2e-test-killed-1/zorora-e2e-test-killed-1/challenger_1/backtest_results.json",
    "audit_logs/zorora-e2e-test-killed-1/events.json",
    "audit_logs/zorora-e2e-test-killed-2/events.json",
}
LOOK_ALIKES = [
    "customer_tailored/zorora-e2e-test/latest_model.json",  # no dash
    "customer_tailored/zorora-e2e-testing-1/latest_model.json",
    "model_metrics/zorora-e2e-testing-forecast/production/model_1/backtest_results.json",
    "audit_logs/zorora-e2e-test_underscore/events.json",
    "customer_tailored/zorora-e2e-test-/latest_model.json",  # the bare prefix is not a customer id
    "customer_tailored/zorora-e2e-test-stray",  # an object, not a folder
    "customer_tailored/ZORORA-E2E-TEST-upper/latest_model.json",
    "customer_tailored/acme-solar/latest_model.json",  # a real-looking customer
    "model_metrics/acme-solar/production/model_20250101_000000/backtest_results.json",
    "audit_logs/acme-solar/events.json",
    "customer_tailored/acme-solar/zorora-e2e-test-inner/latest_model.json",  # test name below a real customer
    "zorora-e2e-test-top/customer_tailored/latest_model.json",  # outside the three prefixes
    "backups/customer_tailored/zorora-e2e-test-killed-1/latest_model.json",
    "customer_tailored_old/zorora-e2e-test-killed-1/latest_model.json",
    "audit_logs-archive/zorora-e2e-test-killed-2/events.json",
]


@pytest.fixture(scope="module")
def sandbox(request):
    register_figures(request.config)
    with Sandbox(bucket="zorora-e2e-rel-sweep") as sb:
        yield sb


@pytest.fixture
def seeded(sandbox):
    empty_bucket(sandbox)
    bodies = {}
    for i, key in enumerate(sorted(TEST_DATA) + LOOK_ALIKES):
        bodies[key] = f'{{"seed": {i}}}'.encode()
        put(sandbox, key, bodies[key])
    yield bodies
    empty_bucket(sandbox)


def sweep(sandbox, *args):
    return cli("sweep", *args, env=sandbox.env())


def assert_look_alikes_untouched(sandbox, bodies):
    for key in LOOK_ALIKES:
        assert read(sandbox, key) == bodies[key], key


def test_dry_run_lists_every_test_customer_and_deletes_nothing(sandbox, seeded):
    done = sweep(sandbox, "--older-than", "0s", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 test customer(s), 6 object(s)" in done.stdout
    assert "zorora-e2e-test-killed-1  5 object(s)" in done.stdout
    assert "zorora-e2e-test-killed-2  1 object(s)" in done.stdout
    assert "Dry run: nothing deleted." in done.stdout
    listed = re.findall(r"^\s+(\S+)\s+\d+ object\(s\)", done.stdout, re.M)
    assert listed == ["zorora-e2e-test-killed-1", "zorora-e2e-test-killed-2"]  # no look-alike listed
    assert bucket_keys(sandbox) == sorted(seeded)


def test_nothing_is_older_than_an_hour(sandbox, seeded):
    done = sweep(sandbox, "--older-than", "1h", "--yes")
    assert done.returncode == 0 and "No zorora-e2e-test-* data older than 1h" in done.stdout, done.stdout
    assert bucket_keys(sandbox) == sorted(seeded)


def test_without_yes_and_without_a_terminal_nothing_is_deleted(sandbox, seeded):
    done = sweep(sandbox, "--older-than", "0s")
    assert done.returncode == 1 and "Not deleting without --yes" in done.stdout, done.stdout
    assert bucket_keys(sandbox) == sorted(seeded)


@pytest.mark.slow
def test_yes_deletes_exactly_the_test_customers_and_no_look_alike(sandbox, seeded):
    done = sweep(sandbox, "--older-than", "0s", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Deleted 6 object(s)." in done.stdout
    assert bucket_keys(sandbox) == sorted(LOOK_ALIKES)
    assert_look_alikes_untouched(sandbox, seeded)
    count("sweep_lookalikes", len(LOOK_ALIKES))
    again = sweep(sandbox, "--older-than", "0s", "--yes")
    assert again.returncode == 0 and "No zorora-e2e-test-* data" in again.stdout


def test_one_customer_only(sandbox, seeded):
    done = sweep(sandbox, "--customer-id", "zorora-e2e-test-killed-2", "--older-than", "0s", "--yes")
    assert done.returncode == 0 and "Deleted 1 object(s)." in done.stdout, done.stdout
    assert bucket_keys(sandbox) == sorted(set(seeded) - {"audit_logs/zorora-e2e-test-killed-2/events.json"})
    assert_look_alikes_untouched(sandbox, seeded)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--customer-id", "acme-solar"], "--customer-id must be one test customer id"),
        (["--customer-id", "zorora-e2e-test-"], "--customer-id must be one test customer id"),
        (["--customer-id", "zorora-e2e-test-a/../acme"], "--customer-id must be one test customer id"),
        (["--older-than", "soon"], "--older-than must look like"),
    ],
)
def test_bad_sweep_arguments_exit_2_and_delete_nothing(sandbox, seeded, args, message):
    done = sweep(sandbox, *args, "--yes")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert bucket_keys(sandbox) == sorted(seeded)
