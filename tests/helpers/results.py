"""What a run left and said: the keys under a customer's prefixes in S3, and the steps of its result."""

from __future__ import annotations

from zorora_e2e_plugin.core.outcomes import FAIL, WARN
from zorora_e2e_plugin.s3.customer_state import customer_prefixes

PREFIX_TOPS = ("customer_tailored/", "model_metrics/", "audit_logs/")


def bucket_keys(sandbox, prefix: str = "") -> list[str]:
    s3 = sandbox.s3_client()
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", ()))
    return sorted(keys)


def customer_keys(sandbox, customer_id: str) -> list[str]:
    """Everything under the customer's three prefixes (what a run may write)."""
    return sorted(k for top in PREFIX_TOPS for k in bucket_keys(sandbox, f"{top}{customer_id}/"))


def put(sandbox, key: str, body: bytes = b"{}") -> None:
    sandbox.s3_client().put_object(Bucket=sandbox.bucket, Key=key, Body=body)


def read(sandbox, key: str) -> bytes:
    return sandbox.s3_client().get_object(Bucket=sandbox.bucket, Key=key)["Body"].read()


def empty_bucket(sandbox) -> None:
    keys = bucket_keys(sandbox)
    for start in range(0, len(keys), 1000):
        sandbox.s3_client().delete_objects(
            Bucket=sandbox.bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
        )


def objects_of(sandbox, customer_id):
    s3 = sandbox.s3_client()
    return [
        o["Key"]
        for p in customer_prefixes(customer_id)
        for o in s3.list_objects_v2(Bucket=sandbox.bucket, Prefix=p).get("Contents", [])
    ]


def step(result, step_id):
    return next(s for s in result.steps if s.id == step_id)


def failed(result):
    return [s.id for s in result.steps if s.status == FAIL]


def warned(result):
    return [s.id for s in result.steps if s.status == WARN]


def flat(s):
    return " ".join((s.expected + " " + s.actual + " " + s.hint).split())
