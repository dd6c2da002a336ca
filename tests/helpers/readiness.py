"""A readiness check (`--preflight-only --for CUSTOMER`) through a recording proxy, proving the customer untouched
and only read (test_readiness.py, test_readiness_after_promotion.py)."""

from __future__ import annotations

import json
import re

from zorora_e2e_plugin.s3.customer_state import TOP_LEVELS

from .engine import run_engine
from .lying_proxy import LyingProxy


def snapshot(sandbox, customer):
    """Every object under the customer's three prefixes: key -> (ETag, size, bytes), read on the internal
    endpoint (not in the request log)."""
    s3, objects = sandbox.s3_client(), {}
    for top in TOP_LEVELS:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.bucket, Prefix=f"{top}{customer}/"):
            for obj in page.get("Contents", ()):
                body = s3.get_object(Bucket=sandbox.bucket, Key=obj["Key"])["Body"].read()
                objects[obj["Key"]] = (obj["ETag"], obj["Size"], body)
    return objects


def about(customer, text) -> bool:
    return re.search(rf"(^|[/=\"' ]){re.escape(customer)}([/&\"' ]|$)", text) is not None


def check(sandbox, customer, *for_values, faults=(), json_path=None, **flags):
    """Run `--preflight-only --for customer ...` through a recording proxy; prove the customer untouched and
    only read. Returns (result, console text, the readiness block)."""
    before = snapshot(sandbox, customer)
    seen = []

    def record(request, status, text):
        seen.append(request)

    del sandbox.request_log[:]
    with LyingProxy(sandbox, record) as proxy:
        result, out = run_engine(
            sandbox,
            faults,
            base_url=proxy.url,
            phases=[0],
            readiness_for=[customer, *for_values],
            json_path=json_path,
            **flags,
        )
    assert snapshot(sandbox, customer) == before, "the customer's objects changed"
    for request in seen:
        mentions = (
            about(customer, request.path)
            or about(customer, request.query)
            or (request.body is not None and customer in json.dumps(request.body))
        )
        if mentions:
            assert request.method == "GET", (request.method, request.path, request.body)
        assert not (request.method == "POST" and request.body and request.body.get("customer_id") == customer)
    for record_ in sandbox.request_log:
        if record_.kind == "s3" and customer in record_.path:
            assert record_.method == "GET", (record_.method, record_.path)
    return result, out, result.readiness
