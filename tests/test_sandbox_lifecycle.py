"""The Sandbox object: import cost, start/stop, threads, unreachability, request log, serve_forever."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from zorora_e2e_plugin.sandbox import Listen, Sandbox, serve_forever

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _public_s3(sb, **config):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=sb.s3_endpoint_url,
        region_name=sb.region,
        aws_access_key_id=sb.access_key_id,
        aws_secret_access_key=sb.secret_access_key,
        config=Config(**config) if config else None,
    )


def _auth(sb):
    return {"Authorization": f"Bearer {sb.token}"}


def test_importing_the_package_imports_nothing_heavy():
    code = (
        "import sys, zorora_e2e_plugin.sandbox as s; "
        "s.parse_fault('latency:1'); s.FAULT_HELP; s.Sandbox(); "
        "heavy = [m for m in ('moto', 'boto3', 'botocore', 'werkzeug', 'flask', 'requests') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_addresses_and_env():
    sb = Sandbox(token="tok", bucket="sandbox-env-bucket", region="eu-west-1")
    with pytest.raises(RuntimeError):
        _ = sb.api_url
    with sb:
        port = int(sb.api_url.split(":")[2].split("/")[0])
        assert sb.api_url == f"http://127.0.0.1:{port}/prod/api/v1"
        assert sb.s3_endpoint_url.startswith("http://127.0.0.1:") and sb.s3_endpoint_url != sb.internal_s3_endpoint_url
        assert sb.env() == {
            "ONA_API_BASE_URL": sb.api_url,
            "ONA_API_TOKEN": "tok",
            "OUTPUT_BUCKET": "sandbox-env-bucket",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL_S3": sb.s3_endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH": sb.cloudwatch_endpoint_url,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
        }
        s3 = _public_s3(sb)
        assert s3.get_bucket_location(Bucket="sandbox-env-bucket")["LocationConstraint"] == "eu-west-1"
        s3.close()
    assert Sandbox().token != Sandbox().token and len(Sandbox().token) >= 24


def test_fixed_port_and_port_in_use():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with Sandbox(listen=Listen(port=port)) as sb:
        assert sb.api_url == f"http://127.0.0.1:{port}/prod/api/v1"
        before = set(threading.enumerate())
        with pytest.raises(OSError):
            Sandbox(listen=Listen(port=port)).start()  # an exception, not werkzeug's sys.exit, and nothing left running
        assert set(threading.enumerate()) <= before


def test_stop_joins_every_thread_and_is_idempotent():
    before = set(threading.enumerate())
    sb = Sandbox(faults=["latency:1"]).start()
    session = requests.Session()  # keep-alive connections stay open until stop
    for _ in range(3):
        assert (
            session.get(sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb)).status_code == 200
        )
    s3 = _public_s3(sb)
    s3.put_object(Bucket=sb.bucket, Key="lifecycle/x", Body=b"1")
    sb.s3_client().head_object(Bucket=sb.bucket, Key="lifecycle/x")
    assert set(threading.enumerate()) - before  # servers and connection threads are running
    started = time.monotonic()
    sb.stop()
    assert time.monotonic() - started < 3
    assert set(threading.enumerate()) - before == set()
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.api_url + "/challengers", timeout=2)
    session.close()
    s3.close()


def test_stop_interrupts_latency_sleeps():
    before = set(threading.enumerate())
    sb = Sandbox(faults=["latency:20000"]).start()
    results = []

    def call():
        try:
            results.append(
                requests.get(
                    sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb), timeout=30
                ).status_code
            )
        except requests.RequestException as exc:
            results.append(type(exc).__name__)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.2)
    started = time.monotonic()
    sb.stop()
    t.join(10)
    assert time.monotonic() - started < 3
    assert results
    assert set(threading.enumerate()) - before == set()


def test_make_unreachable_s3():
    from botocore.exceptions import EndpointConnectionError

    with Sandbox() as sb:
        s3 = _public_s3(sb, retries={"max_attempts": 1}, connect_timeout=2)
        s3.head_bucket(Bucket=sb.bucket)
        sb.make_unreachable("s3")
        with pytest.raises(EndpointConnectionError):
            s3.head_bucket(Bucket=sb.bucket)
        # the sandbox's own API still reaches S3 (its internal listener)
        r = requests.get(sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb), timeout=5)
        assert r.status_code == 200
        sb.s3_client().head_bucket(Bucket=sb.bucket)
        with pytest.raises(ValueError):
            sb.make_unreachable("dynamo")
        s3.close()


def test_make_unreachable_api():
    with Sandbox() as sb, requests.Session() as session:
        assert (
            session.get(sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb)).status_code == 200
        )
        sb.make_unreachable("api")
        with pytest.raises(requests.ConnectionError):
            session.get(sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb), timeout=5)
        s3 = _public_s3(sb)
        s3.head_bucket(Bucket=sb.bucket)
        s3.close()


def test_request_log_records_client_facing_requests_only():
    with Sandbox() as sb:
        assert sb.request_log == []
        requests.get(sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb), timeout=5)
        requests.get(sb.api_url + "/challengers", timeout=5)
        s3 = _public_s3(sb)
        s3.put_object(Bucket=sb.bucket, Key="log/one", Body=b"1")
        s3.close()
        sb.s3_client().get_object(Bucket=sb.bucket, Key="log/one")  # internal: not logged
        log = list(sb.request_log)
    assert [(r.kind, r.method, r.path, r.status) for r in log] == [
        ("api", "GET", "/prod/api/v1/challengers", 200),
        ("api", "GET", "/prod/api/v1/challengers", 401),
        ("s3", "PUT", f"/{sb.bucket}/log/one", 200),
    ]
    for r in log:
        assert r.ended >= r.started and r["status"] == r.status and r.as_dict()["kind"] == r.kind
    assert log[0].ended <= log[1].started  # sequential round trips are visible


def test_two_sandboxes_share_the_moto_backend(sandbox_instance):
    with Sandbox() as other:
        other.s3_client().put_object(Bucket=other.bucket, Key="shared/visible", Body=b"yes")
        body = (
            sandbox_instance.s3_client().get_object(Bucket=sandbox_instance.bucket, Key="shared/visible")["Body"].read()
        )
        assert body == b"yes"


@pytest.mark.slow
def test_s3_conditional_writes_are_atomic_on_the_public_endpoint(sandbox_instance):
    """8 clients increment one counter with If-Match: no increment may be lost."""
    from botocore.exceptions import ClientError

    sb = sandbox_instance
    key = f"conditional/counter-{time.time_ns()}"
    sb.s3_client().put_object(Bucket=sb.bucket, Key=key, Body=b"0")
    client = _public_s3(sb, max_pool_connections=16)
    barrier = threading.Barrier(8)
    done = []

    def worker():
        barrier.wait()
        wins = 0
        while wins < 5:
            obj = client.get_object(Bucket=sb.bucket, Key=key)
            value = int(obj["Body"].read())
            try:
                client.put_object(Bucket=sb.bucket, Key=key, Body=str(value + 1).encode(), IfMatch=obj["ETag"])
                wins += 1
            except ClientError as exc:
                assert exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict")
        done.append(wins)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(done) == 40
    assert int(client.get_object(Bucket=sb.bucket, Key=key)["Body"].read()) == 40
    client.close()


def test_serve_forever_prints_exports_and_returns_when_stopped():
    sb = Sandbox(token="printed-token")
    out = io.StringIO()
    rc = []
    t = threading.Thread(target=lambda: rc.append(serve_forever(sb, out=out)))
    t.start()
    deadline = time.monotonic() + 15
    while "# Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = out.getvalue().splitlines()
    exports = dict(line[len("export ") :].split("=", 1) for line in lines if line.startswith("export "))
    assert exports == sb.env()  # values need no quoting here
    assert any(line.startswith("#") and sb.api_url in line for line in lines)
    r = requests.get(sb.api_url + "/challengers", params={"customer_id": "x"}, headers=_auth(sb), timeout=5)
    assert r.text == '{"customer_id":"x","challengers":[],"count":0}'
    sb.stop()
    t.join(10)
    assert rc == [0]


def test_serve_forever_quotes_values_for_the_shell():
    sb = Sandbox(token="a b'c$d")
    out = io.StringIO()
    t = threading.Thread(target=serve_forever, args=(sb, out))
    t.start()
    deadline = time.monotonic() + 15
    while "# Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    sb.stop()
    t.join(10)
    line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("export ONA_API_TOKEN="))
    shown = subprocess.run(["sh", "-c", line + '; printf %s "$ONA_API_TOKEN"'], capture_output=True, text=True)
    assert shown.stdout == "a b'c$d"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
def test_serve_forever_stops_cleanly_on_sigterm():
    code = (
        "import sys; from zorora_e2e_plugin.sandbox import Sandbox, serve_forever; "
        "sys.exit(serve_forever(Sandbox(token='t')))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        env = {}
        for line in proc.stdout:
            if line.startswith("export "):
                name, value = line[len("export ") :].strip().split("=", 1)
                env[name] = value
            if line.startswith("# Ctrl-C"):
                break
        r = requests.get(env["ONA_API_BASE_URL"] + "/challengers", params={"customer_id": "x"}, timeout=5)
        assert r.status_code == 401
        r = requests.get(
            env["ONA_API_BASE_URL"] + "/challengers",
            params={"customer_id": "x"},
            headers={"Authorization": "Bearer t"},
            timeout=5,
        )
        assert r.json() == {"customer_id": "x", "challengers": [], "count": 0}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
