"""The sandbox serves S3 without flask: the [sandbox] extra no longer installs it (nor flask-cors).

A subprocess makes ``flask`` and ``flask_cors`` unimportable (a meta-path blocker, whether or not they
are installed), starts a Sandbox and works its S3 through both listeners with botocore (and SSM
through the internal one).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = r"""
import sys


class _NoFlask:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("flask", "flask_cors"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, _NoFlask())

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from zorora_e2e_plugin.sandbox import Sandbox

try:  # moto versions that keep metadata names with underscores (werkzeug's server drops such headers)
    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY as _PRESERVES_UNDERSCORES
except ImportError:
    _PRESERVES_UNDERSCORES = None

def client(sb, url):
    return boto3.session.Session().client(
        "s3", endpoint_url=url, region_name=sb.region, aws_access_key_id=sb.access_key_id,
        aws_secret_access_key=sb.secret_access_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def error(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"].get("Code")
    raise AssertionError(f"{call.__name__} succeeded")


with Sandbox(bucket="noflask-bucket") as sb:
    public, internal = client(sb, sb.s3_endpoint_url), client(sb, sb.internal_s3_endpoint_url)
    bucket = sb.bucket
    assert bucket in [b["Name"] for b in public.list_buckets()["Buckets"]]
    keys = ["plain.txt", "dir/sub dir/ünïcode + plus%2Fslash.json", "dir//double"]
    for i, key in enumerate(keys):
        public.put_object(Bucket=bucket, Key=key, Body=b"x" * (10 + i), Metadata={"kind": "t", "my_key": "u"})
    for i, key in enumerate(keys):
        got = internal.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == b"x" * (10 + i), key
        head = public.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == 10 + i, (key, head["ContentLength"])
        assert head["Metadata"]["kind"] == "t", head["Metadata"]
        assert _PRESERVES_UNDERSCORES is None or head["Metadata"].get("my_key") == "u", head["Metadata"]
    listed = public.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(keys[1:]), listed.get("Contents")
    assert public.list_objects_v2(Bucket=bucket, Delimiter="/")["CommonPrefixes"] == [{"Prefix": "dir/"}]
    # conditional write, the errors moto raises (404 on GET and HEAD, 412), a missing bucket
    assert error(public.put_object, Bucket=bucket, Key="plain.txt", Body=b"y", IfNoneMatch="*")[0] == 412
    assert error(public.get_object, Bucket=bucket, Key="missing") == (404, "NoSuchKey")
    assert error(public.head_object, Bucket=bucket, Key="missing")[0] == 404
    assert error(public.list_objects_v2, Bucket="no-such-bucket-here") == (404, "NoSuchBucket")
    deleted = public.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == sorted(keys), deleted
    assert internal.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # a request signed for another service reaches that moto backend, as with moto's server mode
    # (test_cli's --token-from-ssm reads its parameter through the internal endpoint)
    ssm = boto3.session.Session().client(
        "ssm", endpoint_url=sb.internal_s3_endpoint_url, region_name=sb.region,
        aws_access_key_id=sb.access_key_id, aws_secret_access_key=sb.secret_access_key)
    ssm.put_parameter(Name="/noflask/token", Value="t0k", Type="SecureString")
    assert ssm.get_parameter(Name="/noflask/token", WithDecryption=True)["Parameter"]["Value"] == "t0k"
    assert error(ssm.get_parameter, Name="/noflask/missing")[1] == "ParameterNotFound"
    # the public listener recorded its requests
    s3_log = [r for r in sb.request_log if r.kind == "s3"]
    assert s3_log and all(r.status for r in s3_log), s3_log
    assert any(r.method == "HEAD" and r.status == 404 for r in s3_log)

assert not [m for m in sys.modules if m.split(".")[0] in ("flask", "flask_cors")]
print("served without flask")
"""


@pytest.mark.slow
def test_the_sandbox_serves_s3_without_flask():
    out = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "served without flask"
