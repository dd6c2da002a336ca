"""The floor under a preflight process: a script that does nothing but what any preflight built on requests
and botocore must do — import both, build the S3 client (in a thread, beside the API requests), send the
preflight's 15 requests in its round trips (the API probes; S3 head + put + versioning; then delete + the
three listings) — and exits. No engine, no report, no checks. The bench runs it beside `zorora-e2e run
--preflight-only` against the same sandbox, so a missed process target can be told apart from a target
below what these libraries allow on the machine.
"""

from __future__ import annotations

import statistics
import sys

from .measure import clean_env, met_or_missed, process_row, timed, warm_up

FLOOR_RATIO_TARGET = 1.05  # preflight process wall / this script's, in pairs at 100 ms (issue 22)

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
first = [pool.submit(s3.head_bucket, Bucket=bucket), pool.submit(s3.put_object, Bucket=bucket, Key=key, Body=b"x"),
         pool.submit(s3.get_bucket_versioning, Bucket=bucket)]
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


def floor_command():
    return [sys.executable, "-c", FLOOR_SCRIPT]


def floor_process(sandbox, env: dict[str, str], repeat: int) -> tuple[int, float, float, int, int]:
    """(exit code, median wall, min wall, sequential round trips, requests) of the floor script against
    `sandbox`."""
    cmd = floor_command()
    warm_up(cmd, env)
    runs = [timed(cmd, env, sandbox) for _ in range(repeat)]
    code = max(r[0] for r in runs)
    return (
        code,
        statistics.median(r[1] for r in runs),
        min(r[1] for r in runs),
        max(r[2] for r in runs),
        max(r[3] for r in runs),
    )


def preflight_beside_floor(sandbox, cmd: list[str], env: dict[str, str], repeat: int) -> bool:
    """`--preflight-only` and the floor script (floor.py: only requests + botocore and the preflight's requests),
    in pairs at 100 ms, after one unmeasured run of each: the median of the pairs' ratios against the target."""
    floor_cmd, floor_env = floor_command(), clean_env(sandbox.env())
    warm_up(cmd, env)
    warm_up(floor_cmd, floor_env)
    pairs = [(timed(cmd, env, sandbox), timed(floor_cmd, floor_env, sandbox)) for _ in range(repeat)]
    ratios = [ours[1] / floor[1] for ours, floor in pairs]
    ratio = statistics.median(ratios)
    met = ratio <= FLOOR_RATIO_TARGET and all(o[0] == 0 and f[0] == 0 for o, f in pairs)
    process_row("preflight", 100, [p[0] for p in pairs], "")
    process_row(
        "floor", 100, [p[1] for p in pairs], "only imports requests + botocore and sends the preflight's requests"
    )
    print(
        f"preflight / floor (median of pairs {', '.join(f'{r:.2f}' for r in ratios)}): {ratio:.2f}   "
        f"target <= {FLOOR_RATIO_TARGET:.2f}: {met_or_missed(met)}"
    )
    return met
