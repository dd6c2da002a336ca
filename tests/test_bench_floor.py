"""The bench's floor script sends what a preflight sends (so its wall is a fair floor) and leaves nothing."""

import pytest

from benchmarks.floor import floor_process
from benchmarks.measure import clean_env
from zorora_e2e_plugin.sandbox import Sandbox


@pytest.mark.slow
def test_the_floor_sends_the_preflights_requests_and_leaves_nothing():
    with Sandbox() as sandbox:
        code, wall, fastest, _trips, requests = floor_process(sandbox, clean_env(sandbox.env()), repeat=1)
        log = list(sandbox.request_log)
        keys = [o["Key"] for o in sandbox.s3_client().list_objects_v2(Bucket=sandbox.bucket).get("Contents", [])]
    assert code == 0 and wall >= fastest > 0 and requests == 15
    kinds = sorted(r.kind for r in log)
    assert kinds.count("api") == 8 and kinds.count("s3") == 7  # as 0.1-0.5: 8 API requests, 7 to S3
    assert {r.status for r in log if r.kind == "api"} <= {200, 400, 404}  # answered: the token was accepted
    assert not [k for k in keys if "floor" in k]
