"""The bench's sweep scenario: 100 left-over test customers, 10 000 objects, 1 000 look-alike and real-customer
keys that must survive; `zorora-e2e sweep --older-than 0s --yes` in a fresh process (see bench.py)."""

from __future__ import annotations

import os

from .measure import clean_env, console_script, met_or_missed, round_trips, timed

SWEEP_RT_TARGET = 15


LOOKALIKE_PATTERNS = (
    "customer_tailored/zorora-e2e-testing-{i}/latest_model.json",
    "model_metrics/zorora-e2e-test{i}/production/model_1/backtest_results.json",
    "audit_logs/real-customer-{i}/events.json",
    "customer_tailored/real-customer-{i}/latest_model.json",
    "customer_tailored/zorora-e2e-test-/stray-{i}.json",
    "audit_logs/zorora-e2e-test-orphan-{i}",
    "other/zorora-e2e-test-{i}/x.json",
    "model_metrics/real-{i}/zorora-e2e-test-{i}/backtest_results.json",
    "customer_tailored/ZORORA-E2E-TEST-{i}/latest_model.json",
    "zorora-e2e-test-{i}/customer_tailored/x.json",
)


def seed_leftovers(sandbox, customers: int = 100, objects: int = 10_000, lookalikes: int = 1_000):
    """Write, straight into the sandbox's S3 backend (no HTTP), `objects` objects of `customers` left-over test
    customers spread over the three prefixes, and `lookalikes` keys that must survive a sweep. Returns
    (test keys, {look-alike key: body})."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    tops = ("customer_tailored", "model_metrics", "audit_logs")
    test_keys = []
    for n in range(objects):
        customer = f"zorora-e2e-test-20250101-000000-{n % customers:04x}"
        top = tops[n % 3]
        test_keys.append(f"{top}/{customer}/archived/object_{n:05d}.json")
    lookalike = {}
    for n in range(lookalikes):
        key = LOOKALIKE_PATTERNS[n % len(LOOKALIKE_PATTERNS)].format(i=n)
        lookalike[key] = f"keep {n}".encode()
    for key in test_keys:
        backend.put_object(sandbox.bucket, key, b"{}")
    for key, body in lookalike.items():
        backend.put_object(sandbox.bucket, key, body)
    return test_keys, lookalike


def run_sweep(sandbox, latency: int):
    """`zorora-e2e sweep --older-than 0s --yes` as a user runs it (a fresh process: S3's CPU, moto in this process,
    does not share the sweep's interpreter); returns (exit code, wall, seq RT, requests, log)."""
    sandbox.set_faults([f"latency:{latency}"] if latency else [])
    try:
        command = console_script() + ["sweep", "--older-than", "0s", "--yes", "--no-color"]
        code, wall, _trips, _count, _out = timed(command, clean_env(sandbox.env()), sandbox)
        log = list(sandbox.request_log)
    finally:
        sandbox.set_faults([])
    return code, wall, round_trips(log), len(log), log


def bench_sweep(latency: int) -> bool:
    from zorora_e2e_plugin.sandbox import Sandbox

    print(
        f"\n## sweep: 100 left-over test customers, 10 000 objects, 1 000 look-alike and real-customer keys; "
        f"latency {latency} ms"
    )
    with Sandbox(bucket=f"zorora-e2e-bench-{os.getpid()}") as sandbox:  # moto's backend is process-wide
        test_keys, lookalike = seed_leftovers(sandbox)
        code, wall, trips, requests, log = run_sweep(sandbox, latency)
        s3 = sandbox.s3_client()
        left = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.bucket):
            left += [o["Key"] for o in page.get("Contents", [])]
        kept = all(
            s3.get_object(Bucket=sandbox.bucket, Key=k)["Body"].read() == v for k, v in list(lookalike.items())[:50]
        )
        for start in range(0, len(left), 1000):
            s3.delete_objects(
                Bucket=sandbox.bucket,
                Delete={"Objects": [{"Key": k} for k in left[start : start + 1000]], "Quiet": True},
            )
    lists = sum(1 for r in log if r.method == "GET")
    deletes = sum(1 for r in log if r.method == "POST")
    intact = sorted(left) == sorted(lookalike) and kept
    met = code == 0 and trips <= SWEEP_RT_TARGET and intact
    print(
        f"`zorora-e2e sweep --older-than 0s --yes`: exit {code}; process wall {wall:.2f} s; "
        f"{trips} sequential round trips (<= {SWEEP_RT_TARGET}); {requests} requests "
        f"({lists} list pages, {deletes} delete batches); {len(test_keys)} objects deleted: "
        f"{len(set(test_keys) - set(left))}; look-alikes intact: {len(set(lookalike) & set(left))}/{len(lookalike)}"
        f"   {met_or_missed(met)}"
    )
    return met
