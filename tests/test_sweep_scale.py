"""The sweep at scale, against the sandbox's real S3 protocol: listings that paginate, deletes in batches of
1000 sent concurrently, and look-alike and real-customer keys left byte for byte. (Figures at 10 000 objects
and 100 ms latency: `python -m benchmarks.bench --only sweep`.)"""

from __future__ import annotations

import io
import uuid

import pytest

from benchmarks.measure import sequential_round_trips
from benchmarks.sweep_scenario import LOOKALIKE_PATTERNS, seed_leftovers
from zorora_e2e_plugin.config.flags import SweepFlags
from zorora_e2e_plugin.config.settings import resolve_storage
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.sweep import find, sweep
from zorora_e2e_plugin.s3.store import Store
from zorora_e2e_plugin.sandbox import Sandbox


def all_objects(sandbox):
    s3 = sandbox.s3_client()
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.bucket):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = s3.get_object(Bucket=sandbox.bucket, Key=obj["Key"])["Body"].read()
    return found


@pytest.mark.slow
def test_a_sweep_of_3300_objects_pages_deletes_concurrently_and_spares_every_lookalike():
    # moto's backend is process-wide: a bucket of its own keeps other tests' data out of this one and the
    # look-alikes (which the sweep rightly leaves) out of theirs
    with Sandbox(bucket=f"zorora-e2e-scale-{uuid.uuid4().hex[:12]}") as sandbox:
        test_keys, lookalike = seed_leftovers(sandbox, customers=12, objects=3300, lookalikes=300)
        assert len({k.split("/")[1] for k in test_keys}) == 12 and len(lookalike) == 300
        storage = resolve_storage(SweepFlags(), sandbox.env())
        listed = find(Store.open(storage))
        assert sorted(k for e in listed.values() for k in e.keys) == sorted(test_keys)  # past page 1 of each prefix

        sandbox.set_faults(["latency:150"])
        del sandbox.request_log[:]
        out = io.StringIO()
        try:
            code, summary = sweep(
                storage,
                SweepFlags(older_than="0s", assume_yes=True),
                console=make_console(file=out, no_color=True),
                ask=None,
            )
        finally:
            sandbox.set_faults([])
        log = list(sandbox.request_log)
        left = all_objects(sandbox)
        sandbox.s3_client().delete_objects(
            Bucket=sandbox.bucket, Delete={"Objects": [{"Key": k} for k in left], "Quiet": True}
        )

    assert code == 0, out.getvalue()
    assert summary == "✓ Sweep: deleted 3300 object(s) of 12 test customer(s)."
    assert set(left) == set(lookalike)  # every test object gone, nothing else
    assert all(left[key] == body for key, body in lookalike.items())  # byte for byte
    lists = [r for r in log if r.method == "GET" and "list-type" in r.query]
    deletes = [r for r in log if r.method == "POST"]
    assert len(lists) == 6  # 1100 objects under each of the three prefixes: two pages each
    assert [r.query for r in log if r.method == "GET" and "list-type" not in r.query] == ["versioning"]  # once,
    # beside the listings (an unversioned bucket: no version listing)
    assert len(deletes) == 4  # 3300 keys: batches of 1000
    assert max(r.started for r in deletes) < min(r.ended for r in deletes)  # all four batches in flight at once
    assert max(r.started for r in lists[:3]) < min(r.ended for r in lists[:3])  # the prefixes page at once
    assert sequential_round_trips([(r.started, r.ended) for r in log]) <= 4  # 2 pages + 1 delete (+1 slack)


def test_lookalike_patterns_are_all_outside_the_guard():
    from zorora_e2e_plugin.run.sweep import _is_test_key

    for pattern in LOOKALIKE_PATTERNS:
        assert not _is_test_key(pattern.format(i=7)), pattern
    assert _is_test_key("audit_logs/zorora-e2e-test-20250101-000000-0001/archived/object_00001.json")
