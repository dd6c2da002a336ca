"""Never touch what is not ours (issue 17 item 1): an S3 endpoint that ignores ListObjectsV2's `prefix` hands
the run every key of the bucket. The run must not delete a single one outside its customer's three prefixes,
whatever a listing says, and must fail its gate naming the endpoint. Proven on the wire: the sandbox's S3
request log records the keys every DeleteObject(s) named.
"""

from __future__ import annotations

import os
import re

import pytest
from helpers.engine import run_engine

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.outcomes import FAIL, GATE_FAILED, PASSED
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.s3.customer_state import customer_prefixes
from zorora_e2e_plugin.s3.store import Store
from zorora_e2e_plugin.sandbox import Sandbox

OTHERS = {  # another customer's data, an unrelated object, and look-alikes of the run's own prefixes
    "customer_tailored/acme-solar/latest_model.json": b'{"customer_id": "acme-solar"}',
    "model_metrics/acme-solar/production/model_1/backtest_results.json": b'{"backtest": {}}',
    "audit_logs/acme-solar/events.json": b'{"events": [1, 2, 3]}',
    "reports/2026/q4.pdf": b"%PDF-1.4",
    "customer_tailored/zorora-e2e-test-someone-else/latest_model.json": b"{}",
}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(bucket="zorora-e2e-scope") as sb:
        yield sb


@pytest.fixture
def seeded(sandbox):
    s3 = sandbox.s3_client()
    for key, body in OTHERS.items():
        s3.put_object(Bucket=sandbox.bucket, Key=key, Body=body)
    sandbox.request_log.clear()
    yield
    for key in OTHERS:
        s3.delete_object(Bucket=sandbox.bucket, Key=key)


def deletes_outside(sandbox, customer_id):
    """Every key a DeleteObject(s) on the public endpoint named outside the customer's prefixes."""
    prefixes = customer_prefixes(customer_id)
    named = [k for r in sandbox.request_log if r.kind == "s3" for k in r.keys]
    return [k for k in named if not k.startswith(prefixes)], named


def intact(sandbox):
    s3 = sandbox.s3_client()
    return {k: s3.get_object(Bucket=sandbox.bucket, Key=k)["Body"].read() for k in OTHERS} == OTHERS


def left_of(sandbox, customer_id):
    s3 = sandbox.s3_client()
    return [
        o["Key"]
        for p in customer_prefixes(customer_id)
        for o in s3.list_objects_v2(Bucket=sandbox.bucket, Prefix=p).get("Contents", [])
    ]


@pytest.mark.parametrize(
    "flags",
    [{"phases": [0]}, {}, {"customer_id": "zorora-e2e-test-given-scope"}],
    ids=["preflight-only", "full-run", "given-customer"],
)
def test_a_prefix_ignoring_endpoint_loses_nobody_else_data_and_fails_the_gate(sandbox, seeded, flags):
    result, text = run_engine(sandbox, ["ignore-prefix"], **flags)
    assert intact(sandbox), text
    outside, named = deletes_outside(sandbox, result.customer_id)
    assert outside == [], text
    assert named, "the run deleted at least its preflight probe"  # the log does see deletes
    assert result.verdict == GATE_FAILED, text
    step = next(s for s in result.steps if s.id == "0.5")
    assert step.status == FAIL
    assert "the S3 endpoint ignored the prefix: nothing deleted outside the test customer" in step.actual, text
    assert left_of(sandbox, result.customer_id) == []


def test_the_same_run_without_the_fault_passes(sandbox, seeded):
    result, text = run_engine(sandbox, [])
    assert result.verdict == PASSED, text
    assert intact(sandbox)
    assert deletes_outside(sandbox, result.customer_id)[0] == []


def test_the_store_never_sends_a_delete_outside_its_scope(sandbox, seeded):
    """Whoever calls it, with whatever keys: keys outside the scope (or with '..' segments) are not sent."""
    settings = resolve(RunFlags(), {}, target=sandbox_target(sandbox))
    mine = customer_prefixes("zorora-e2e-test-scope-unit")
    store = Store.open(settings.storage, scope=mine)
    hostile = list(OTHERS) + [
        mine[0] + "../acme-solar/latest_model.json",
        mine[1] + "./x/../../../reports/2026",
        mine[0][:-1],
        "",
        mine[2].upper() + "events.json",
    ]
    store.put_bytes(mine[0] + "mine.txt", b"x")
    deleted, failed = store.delete_keys(hostile + [mine[0] + "mine.txt"])
    assert (deleted, failed) == (1, [])
    assert sorted(store.refused) == sorted(hostile)
    with pytest.raises(Exception, match="outside the prefixes"):
        store.delete(OTHERS["reports/2026/q4.pdf"] and "reports/2026/q4.pdf")
    assert store.delete_versions([(k, "v1") for k in hostile]) == (0, [])
    assert Store.open(settings.storage).delete_keys([mine[0] + "x"]) == (0, [])  # no scope: deletes nothing
    assert intact(sandbox)
    named = [k for r in sandbox.request_log if r.kind == "s3" for k in r.keys]
    assert named == [mine[0] + "mine.txt"]


def test_only_the_store_sends_deletes():
    """The architecture behind the invariant: no module but s3/store.py names an S3 delete call (the
    sandbox, the S3 server side, aside; the benchmark lives outside the package)."""
    root = os.path.join(os.path.dirname(__file__), "..", "zorora_e2e_plugin")
    pattern = re.compile(r"""["']delete_object(s|_version)?["']|\.delete_object(s|_version)?\(|getattr\([^)]*delete""")
    offenders = []
    for folder, _dirs, files in os.walk(root):
        if os.path.basename(folder) == "sandbox":
            continue
        for name in files:
            if name.endswith(".py") and os.path.relpath(os.path.join(folder, name), root) != os.path.join(
                "s3", "store.py"
            ):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    if pattern.search(f.read()):
                        offenders.append(name)
    assert offenders == []


def test_a_sweep_against_a_prefix_ignoring_endpoint_deletes_test_customers_only(sandbox, seeded):
    from helpers.cli import cli

    killed = "audit_logs/zorora-e2e-test-killed-9/events.json"
    sandbox.s3_client().put_object(Bucket=sandbox.bucket, Key=killed, Body=b"{}")
    sandbox.set_faults(["ignore-prefix"])
    try:
        done = cli("sweep", "--older-than", "0s", "--yes", env=sandbox.env())
    finally:
        sandbox.set_faults([])
    assert done.returncode == 0, done.stdout + done.stderr
    named = [k for r in sandbox.request_log if r.kind == "s3" for k in r.keys]
    assert sorted(named) == sorted([killed, "customer_tailored/zorora-e2e-test-someone-else/latest_model.json"])
    assert {k: v for k, v in OTHERS.items() if "zorora-e2e-test" not in k} == {
        k: sandbox.s3_client().get_object(Bucket=sandbox.bucket, Key=k)["Body"].read()
        for k in OTHERS
        if "zorora-e2e-test" not in k
    }
    sandbox.s3_client().put_object(
        Bucket=sandbox.bucket, Key="customer_tailored/zorora-e2e-test-someone-else/latest_model.json", Body=b"{}"
    )  # as seeded, for the fixture's teardown


def test_a_versioned_bucket_behind_a_prefix_ignoring_endpoint_keeps_every_other_version():
    with Sandbox(bucket="zorora-e2e-scope-versioned", versioned=True) as sb:
        s3 = sb.s3_client()
        for body in (b"v1", b"v2"):
            s3.put_object(Bucket=sb.bucket, Key="audit_logs/acme-solar/events.json", Body=body)
        result, text = run_engine(sb, ["ignore-prefix"])
        versions = s3.list_object_versions(Bucket=sb.bucket)
        keys = sorted(v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []))
        assert keys == ["audit_logs/acme-solar/events.json"] * 2, text
        assert result.verdict == GATE_FAILED, text
        outside = [
            k
            for r in sb.request_log
            if r.kind == "s3"
            for k in r.keys
            if not k.startswith(customer_prefixes(result.customer_id))
        ]
        assert outside == []


class _Pages:
    """ListObjectsV2 answers from a broken store: truncated pages with no token, or the same token forever."""

    def __init__(self, token):
        self.token, self.calls = token, 0

    def __call__(self, method, **kwargs):
        self.calls += 1
        page = {"IsTruncated": True, "Contents": [{"Key": f"p/{self.calls}"}]}
        if self.token:
            page["NextContinuationToken"] = self.token
        return page


@pytest.mark.parametrize("token", [None, "same-every-time"])
def test_a_listing_that_never_ends_is_cut_and_said(token):
    from zorora_e2e_plugin.s3 import store as s3_store

    pages = _Pages(token)
    with pytest.raises(s3_store.ListingError, match="token"):
        s3_store.listed_objects(pages, "p/", s3_store.Listings())
    assert pages.calls <= 2
