"""Nothing left in a versioned bucket (issue 17 item 2): a run's objects leave noncurrent versions and delete
markers behind when deleted by key. The cleanup deletes them (the run's keys only) and proves it with
ListObjectVersions; credentials that may not delete versions get a run that says exactly what remains and
what removes it, never "nothing left"; `sweep` removes versions the same way.
"""

from __future__ import annotations

import uuid

import pytest
from helpers.cli import cli
from helpers.engine import run_engine

from zorora_e2e_plugin.core.outcomes import FAIL, FAILED, GATE_FAILED, PASSED
from zorora_e2e_plugin.s3.customer_state import customer_prefixes
from zorora_e2e_plugin.sandbox import Sandbox

NEIGHBOUR = "customer_tailored/acme-solar/latest_model.json"  # another customer's, with versions of its own


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket=f"zorora-e2e-versioned-{uuid.uuid4().hex[:8]}", versioned=True) as sb:
        s3 = sb.s3_client()
        for body in (b"v1", b"v2"):
            s3.put_object(Bucket=sb.bucket, Key=NEIGHBOUR, Body=body)
        yield sb


def versions_of(sandbox, customer_id):
    """Every version and delete marker under the customer's prefixes (the fault-free endpoint)."""
    s3 = sandbox.s3_client()
    found = []
    for prefix in customer_prefixes(customer_id):
        answer = s3.list_object_versions(Bucket=sandbox.bucket, Prefix=prefix)
        found += [(v["Key"], v["VersionId"]) for v in answer.get("Versions", []) + answer.get("DeleteMarkers", [])]
    return found


def neighbour_versions(sandbox):
    answer = sandbox.s3_client().list_object_versions(Bucket=sandbox.bucket, Prefix=NEIGHBOUR)
    return len(answer.get("Versions", [])), len(answer.get("DeleteMarkers", []))


def test_the_bucket_is_versioned(sandbox):
    assert sandbox.s3_client().get_bucket_versioning(Bucket=sandbox.bucket)["Status"] == "Enabled"


def test_a_run_in_a_versioned_bucket_leaves_no_version_and_no_delete_marker(sandbox):
    result, text = run_engine(sandbox)
    assert result.verdict == PASSED, text
    assert result.cleanup.proven_empty and result.cleanup.leftover == []
    assert versions_of(sandbox, result.customer_id) == [], text
    assert "ListObjectVersions" in next(s for s in result.steps if s.id == "5.2").actual
    assert neighbour_versions(sandbox) == (2, 0)  # the other customer's versions untouched


@pytest.mark.slow
def test_without_permission_to_delete_versions_the_run_says_what_remains_and_the_sweep_removes_it(sandbox):
    result, text = run_engine(sandbox, ["no-version-delete"])
    left = versions_of(sandbox, result.customer_id)
    assert left, "the fault must leave versions"
    assert result.verdict == FAILED, text
    assert not result.cleanup.proven_empty
    assert "nothing left" not in text.lower()
    proof = next(s for s in result.steps if s.id == "5.2")
    assert proof.status == FAIL, text
    keys = {k for k, _ in left}
    assert f"{len(left)} noncurrent version(s)/delete marker(s) of {len(keys)} key(s) remain" in proof.actual, text
    assert "lifecycle rule" in proof.hint and "zorora-e2e sweep --customer-id" in proof.hint
    assert sorted(result.cleanup.leftover) == sorted(f"{k} (noncurrent versions / delete markers)" for k in keys)
    sweep = cli("sweep", "--customer-id", result.customer_id, "--older-than", "0s", "--yes", env=sandbox.env())
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    assert f"and {len(left)} version(s)/delete marker(s)" in sweep.stdout
    assert versions_of(sandbox, result.customer_id) == []
    assert neighbour_versions(sandbox) == (2, 0)


@pytest.mark.slow
def test_sweep_finds_a_customer_that_only_versions_are_left_of(sandbox):
    customer = f"zorora-e2e-test-versions-{uuid.uuid4().hex[:6]}"
    key = f"audit_logs/{customer}/events.json"
    s3 = sandbox.s3_client()
    s3.put_object(Bucket=sandbox.bucket, Key=key, Body=b"{}")
    s3.delete_object(Bucket=sandbox.bucket, Key=key)  # only a noncurrent version and a delete marker now
    dry = cli("sweep", "--older-than", "0s", "--dry-run", env=sandbox.env())
    assert f"{customer}  0 object(s) and 2 version(s)/delete marker(s)" in dry.stdout, dry.stdout
    done = cli("sweep", "--customer-id", customer, "--older-than", "0s", "--yes", env=sandbox.env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert versions_of(sandbox, customer) == []
    assert neighbour_versions(sandbox) == (2, 0)


def test_a_failed_gate_leaves_no_version_of_its_probe(sandbox):
    result, text = run_engine(sandbox, ["stage-prefix"])
    assert result.verdict == GATE_FAILED, text
    assert versions_of(sandbox, result.customer_id) == [], text
    assert result.cleanup.proven_empty


def test_a_failed_gate_that_may_not_delete_versions_says_so(sandbox):
    result, text = run_engine(sandbox, ["stage-prefix", "no-version-delete"])
    left = versions_of(sandbox, result.customer_id)
    assert len(left) == 2, left  # the probe's version and its delete marker
    assert not result.cleanup.proven_empty
    assert "nothing left" not in text.lower() and "lifecycle rule" in text
    sweep = cli("sweep", "--customer-id", result.customer_id, "--older-than", "0s", "--yes", env=sandbox.env())
    assert sweep.returncode == 0 and versions_of(sandbox, result.customer_id) == [], sweep.stdout


@pytest.mark.slow
def test_demo_versioned():
    done = cli("demo", "--versioned", "--no-color", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ListObjectVersions" in done.stdout
    assert "--versioned" in cli("sandbox", "--help").stdout


def test_a_suspended_bucket_leaves_no_version_either():
    """Versioning suspended: deleting by key still leaves delete markers (on S3 with the version id "null", which
    the cleanup deletes by that id; moto gives them ids of their own)."""
    with Sandbox(bucket=f"zorora-e2e-suspended-{uuid.uuid4().hex[:8]}", versioned=True) as sb:
        sb.s3_client().put_bucket_versioning(Bucket=sb.bucket, VersioningConfiguration={"Status": "Suspended"})
        result, text = run_engine(sb)
        assert result.verdict == PASSED, text
        assert versions_of(sb, result.customer_id) == [], text
