"""The floor under a preflight process: a script that does nothing but what any preflight built on requests
and botocore must do — import both, build the S3 client (in a thread, beside the API requests), send the
preflight's 14 requests in its round trips (the API probes; S3 head + put; then delete + the three
listings) — and exits. No engine, no report, no checks. The bench runs it beside `zorora-e2e run
--preflight-only` against the same sandbox, so a missed process target can be told apart from a target
below what these libraries allow on the machine.
"""

from __future__ import annotations

import statistics
import sys
from typing import Dict, Tuple

from .measure import timed, warm_up

FLOOR_SCRIPT = r"""
import os
from concurrent.futures import ThreadPoolExecutor

env = os.environ


def s3_client():
    import botocore.session

    return botocore.session.get_session().create_client(
        "s3", region_name=env["AWS_REGION"], endpoint_url=env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


pool = ThreadPoolExecutor(16)
client = pool.submit(s3_client)
import requests

api, session = env["ONA_API_BASE_URL"], requests.Session()
session.headers["Authorization"] = "Bearer " + env["ONA_API_TOKEN"]
customer = "zorora-e2e-test-floor"
probes = [pool.submit(session.get, api + path) for path in (
    "/challengers?customer_id=test", "/challengers", "/metrics/" + customer + "/m", "/metrics/m", "/diff",
    "/audit-log")]
probes += [pool.submit(session.post, api + path, json={"customer_id": customer, "reason": "abc"})
           for path in ("/promote", "/rollback")]
s3, bucket = client.result(), env["OUTPUT_BUCKET"]
key = "customer_tailored/" + customer + "/preflight-probe"
first = [pool.submit(s3.head_bucket, Bucket=bucket), pool.submit(s3.put_object, Bucket=bucket, Key=key, Body=b"x")]
for f in probes:
    f.result()
listings = [pool.submit(s3.list_objects_v2, Bucket=bucket, Prefix=p + customer + "/")
            for p in ("customer_tailored/", "model_metrics/", "audit_logs/")]
for f in first:
    f.result()
s3.delete_object(Bucket=bucket, Key=key)
for f in listings:
    f.result()
os._exit(0)
"""


def floor_process(sandbox, env: Dict[str, str], repeat: int) -> Tuple[int, float, float, int, int]:
    """(exit code, median wall, min wall, sequential round trips, requests) of the floor script against
    `sandbox`."""
    cmd = [sys.executable, "-c", FLOOR_SCRIPT]
    warm_up(cmd, env)
    runs = [timed(cmd, env, sandbox) for _ in range(repeat)]
    code = max(r[0] for r in runs)
    return (code, statistics.median(r[1] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs),
            max(r[3] for r in runs))
