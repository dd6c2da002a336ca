"""The user's proxy and hostile answers (issue 17 items 10 and 12).

- With HTTP(S)_PROXY set (every corporate shell), `demo` ended in a traceback: the sandbox's own loopback
  traffic went through the proxy. Loopback never goes through a proxy; a real target still honours the
  proxy and NO_PROXY. A real recording proxy on loopback shows what goes through it.
- A never-ending answer grew memory without bound: every client reads at most 10 MB of one answer.
- A listing that says IsTruncated with no continuation token was asked again forever (735 requests in 13 s):
  paging is bounded, and such a page ends the listing with a finding.
"""

from __future__ import annotations

import os
import sys

import pytest
from helpers.cli import CLEAN_ENV, cli
from helpers.engine import STANDIN, STEPS
from helpers.results import put
from helpers.sandbox import customer, module_sandbox
from helpers.wire import EndlessRoute, RecordingProxy, RewritingS3, TlsFront, no_token, same_token

from zorora_e2e_plugin.config.settings import Storage
from zorora_e2e_plugin.s3 import store as s3_store
from zorora_e2e_plugin.s3.store import Store, StoreError
from zorora_e2e_plugin.wire.limits import MAX_ANSWER_BYTES

NO_HISTORY = {"ZORORA_E2E_HISTORY": "0"}
DEAD_PROXY = "http://127.0.0.1:9"


def proxy_env(url: str, no_proxy: str = "") -> dict:
    env = {"HTTP_PROXY": url, "HTTPS_PROXY": url, "http_proxy": url, "https_proxy": url}
    if no_proxy:
        env.update(NO_PROXY=no_proxy, no_proxy=no_proxy)
    return env


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, bucket="zorora-e2e-wire") as sb:
        yield sb


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


# ----------------------------------------------------------------------------------------------- proxies


@pytest.mark.slow
def test_demo_passes_with_a_dead_proxy_set():
    done = cli("demo", "--no-color", env={**NO_HISTORY, **proxy_env(DEAD_PROXY)})
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{STEPS}/{STEPS}" in done.stdout or "passed" in done.stdout.splitlines()[-1]


@pytest.mark.slow
def test_loopback_traffic_never_reaches_the_users_proxy(sandbox):
    with RecordingProxy() as proxy:
        done = cli("demo", "--preflight-only", "--no-color", env={**NO_HISTORY, **proxy_env(proxy.url)})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        env = {**sandbox.env(), **NO_HISTORY, **proxy_env(proxy.url)}
        for name in ("ONA_API_BASE_URL", "AWS_ENDPOINT_URL_S3"):  # localhost is loopback too
            env[name] = env[name].replace("127.0.0.1", "localhost")
        done = cli("run", "--preflight-only", "--no-color", "--client", "direct", env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        done = cli("run", "--preflight-only", "--no-color", "--client", "zorora", env={**env, "PYTHONPATH": STANDIN})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert proxy.requests == []


@pytest.mark.slow
def test_a_real_target_goes_through_the_users_proxy(sandbox, tmp_path):
    """A target by a name that is not loopback (it resolves nowhere: only the proxy can reach it) is reached
    through the proxy, API and S3 alike; nothing resolves the name locally (the guard would report it)."""
    api = sandbox.api_url.replace("127.0.0.1", "ona-api.zorora-e2e.invalid")
    s3 = sandbox.s3_endpoint_url.replace("127.0.0.1", "s3.zorora-e2e.invalid")
    config = tmp_path / "aws-config"  # the sandbox's S3 takes path-style requests only
    config.write_text("[default]\ns3 =\n  addressing_style = path\n")
    with RecordingProxy() as proxy:
        env = {
            **sandbox.env(),
            **NO_HISTORY,
            **proxy_env(proxy.url),
            "ONA_API_BASE_URL": api,
            "AWS_ENDPOINT_URL_S3": s3,
            "AWS_CONFIG_FILE": str(config),
        }
        done = cli("run", "--preflight-only", "--yes", "--no-color", "--client", "direct", env=env, guard=True)
    assert "LOOPBACK-GUARD" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    urls = [url for _method, url in proxy.requests]
    assert any(url.startswith(api + "/challengers") for url in urls), urls
    assert any(url.startswith("http://s3.zorora-e2e.invalid") or ".s3.zorora-e2e.invalid" in url for url in urls), urls


@pytest.mark.slow
def test_no_proxy_keeps_a_real_target_off_the_proxy(sandbox):
    api = sandbox.api_url.replace("127.0.0.1", "ona-api.zorora-e2e.invalid")
    with RecordingProxy() as proxy:
        env = {
            **sandbox.env(),
            **NO_HISTORY,
            **proxy_env(proxy.url, no_proxy="zorora-e2e.invalid"),
            "ONA_API_BASE_URL": api,
        }
        done = cli("run", "--preflight-only", "--yes", "--no-color", "--client", "direct", env=env, guard=True)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stdout[-3000:]  # the name resolves nowhere without the proxy: a setting
    assert "cannot resolve host 'ona-api.zorora-e2e.invalid'" in done.stdout
    assert not any("ona-api" in url for _method, url in proxy.requests), proxy.requests


@pytest.mark.slow
@pytest.mark.parametrize("client", ["direct", "zorora"])
def test_a_loopback_target_trusts_the_ca_bundle_and_still_skips_the_proxy(sandbox, tmp_path, client):
    """Issue 29 item 7: HTTPS on loopback with its own certificate (a tunnel, a TLS-inspecting proxy's): the run's
    own ZE-NET-004 hint says to set REQUESTS_CA_BUNDLE, and loopback must skip only the proxy, not the bundle."""
    with TlsFront(_port(sandbox.api_url), str(tmp_path)) as front, RecordingProxy() as proxy:
        env = {
            **sandbox.env(),
            **NO_HISTORY,
            **proxy_env(proxy.url),
            "REQUESTS_CA_BUNDLE": front.ca_bundle,
            "ONA_API_BASE_URL": sandbox.api_url.replace(f"http://127.0.0.1:{_port(sandbox.api_url)}", front.url),
        }
        if client == "zorora":
            env["PYTHONPATH"] = STANDIN
        done = cli("run", "--preflight-only", "--no-color", "--client", client, env=env)
        assert "ZE-NET-004" not in done.stdout, done.stdout[-3000:]
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        without = cli(
            "run",
            "--preflight-only",
            "--no-color",
            "--client",
            client,
            env={k: v for k, v in env.items() if k != "REQUESTS_CA_BUNDLE"},
        )
    assert without.returncode == 2 and "ZE-NET-004" in without.stdout, without.stdout[-3000:]  # the bundle decides
    assert proxy.requests == []


# ----------------------------------------------------------------------------------------- answer caps

# VmHWM: this process's peak resident memory (ru_maxrss would count the forking pytest's, kept across exec)
MAXRSS_MAIN = r"""
import sys
from zorora_e2e_plugin.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print("MAXRSS_KB", peak, file=sys.stderr)
sys.stderr.flush()
import os
os._exit(code)
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory read from /proc (Linux)")
@pytest.mark.parametrize("client", ["direct", "zorora"])
def test_a_never_ending_answer_is_cut_at_the_cap(sandbox, client):
    """/audit-log's 2xx answers never end (400 MB, then the connection drops): 2.5 fails naming the cap,
    and the process never holds much more than the cap."""
    import subprocess

    with EndlessRoute(_port(sandbox.api_url), "/audit-log?customer_id=") as endless:
        env = {
            **CLEAN_ENV,
            **sandbox.env(),
            **NO_HISTORY,
            "ONA_API_BASE_URL": sandbox.api_url.replace(str(_port(sandbox.api_url)), str(endless.port)),
        }
        if client == "zorora":
            env["PYTHONPATH"] = STANDIN
        done = subprocess.run(
            [sys.executable, "-c", MAXRSS_MAIN, "run", "--no-color", "--client", client, "--deadline", "120"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert endless.endless >= 1
    assert done.returncode == 1, done.stdout[-3000:]
    assert "2.5" in done.stdout and "10 MB" in done.stdout, done.stdout[-3000:]
    maxrss_mb = int(done.stderr.split("MAXRSS_KB")[1].split()[0]) / 1024
    assert maxrss_mb < 250, maxrss_mb  # 400 MB were offered


@pytest.mark.slow
@pytest.mark.parametrize(
    "client, chunked",
    [("direct", True), ("zorora", True), ("direct", False)],
    ids=["direct-chunked", "zorora-chunked", "direct-content-length"],
)
def test_a_body_that_trickles_in_forever_ends_at_the_timeout(sandbox, client, chunked):
    """16 bytes every 0.1 s, for ever: no single read waits long enough to time out; the whole body must
    arrive within --timeout, or its request times out (a GET is retried, then fails)."""
    with EndlessRoute(
        _port(sandbox.api_url), "/audit-log?customer_id=", limit=16 * 400, trickle=0.1, chunked=chunked
    ) as endless:
        env = {
            **sandbox.env(),
            **NO_HISTORY,
            "ONA_API_BASE_URL": sandbox.api_url.replace(str(_port(sandbox.api_url)), str(endless.port)),
        }
        if client == "zorora":
            env["PYTHONPATH"] = STANDIN
        done = cli("run", "--no-color", "--client", client, "--timeout", "2", "--deadline", "35", env=env)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, done.stdout[-3000:]
    line = next(line for line in done.stdout.splitlines() if " 2.5 " in line)
    text = done.stdout[done.stdout.index(line) :][:1500]
    assert "timeout" in text.lower() and "deadline" not in text.lower(), text


def _store(sandbox, endpoint: str, timeout: float = 30) -> Store:
    return Store.open(
        Storage(
            bucket=sandbox.bucket,
            region=sandbox.region,
            s3_endpoint_url=endpoint,
            aws_access_key_id=sandbox.access_key_id,
            timeout=timeout,
            aws_secret_access_key=sandbox.secret_access_key,
        )
    )


def test_an_s3_object_larger_than_the_cap_is_refused(sandbox):
    key = f"model_metrics/{customer('big')}/x.json"
    put(sandbox, key, b"{" + b" " * (MAX_ANSWER_BYTES + 10) + b"}")
    try:
        store = _store(sandbox, sandbox.s3_endpoint_url)
        with pytest.raises(StoreError) as caught:
            store.get_json(key)
        assert caught.value.code == "TooLarge" and "10 MB" in str(caught.value)
        put(sandbox, key, b'{"small": true}')
        assert store.get_json(key)[0] == {"small": True}
    finally:
        sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=key)


@pytest.mark.slow
@pytest.mark.parametrize("trickle, code", [(0.0, "TooLarge"), (0.05, "ReadTimeoutError")], ids=["endless", "trickle"])
def test_an_s3_body_that_never_ends_is_cut(sandbox, trickle, code):
    key = f"model_metrics/{customer('endless')}/endless.json"
    put(sandbox, key, b"{}")
    try:
        with EndlessRoute(
            _port(sandbox.s3_endpoint_url),
            "endless.json",
            trickle=trickle,
            limit=16 * 2000 if trickle else 400 * 1024 * 1024,
        ) as endless:
            with pytest.raises(StoreError) as caught:
                _store(sandbox, endless.url, timeout=2).get_bytes(key)
        assert caught.value.code == code, caught.value
    finally:
        sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=key)


# ------------------------------------------------------------------------------------------ bounded paging


def test_paging_is_bounded_whatever_the_pages_say(monkeypatch):
    monkeypatch.setattr(s3_store, "MAX_PAGES", 50)
    calls = []

    def forever(method, **kwargs):
        calls.append(kwargs.get("ContinuationToken"))
        return {
            "Contents": [{"Key": f"p/k{len(calls)}"}],
            "IsTruncated": True,
            "NextContinuationToken": f"t{len(calls)}",
        }

    with pytest.raises(s3_store.ListingError) as caught:
        s3_store.listed_objects(forever, "p/", s3_store.Listings())
    assert len(calls) == 50 and caught.value.code == "TooManyPages"

    calls.clear()
    with pytest.raises(s3_store.ListingError) as caught:
        s3_store.listed_objects(
            lambda method, **kwargs: calls.append(kwargs.get("ContinuationToken")) or {"IsTruncated": True},
            "p/",
            s3_store.Listings(),
        )
    assert calls == [None] and caught.value.code == "TruncatedWithoutToken"
    assert "truncated" in str(caught.value) and "continuation token" in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize(
    "rewrite, code",
    [(no_token, "TruncatedWithoutToken"), (same_token, "RepeatedContinuation")],
    ids=["no-token", "same-token"],
)
def test_a_listing_without_a_continuation_token_ends_with_a_finding(sandbox, rewrite, code):
    with RewritingS3(_port(sandbox.s3_endpoint_url), rewrite) as s3:
        env = {**sandbox.env(), **NO_HISTORY, "AWS_ENDPOINT_URL_S3": s3.url}
        done = cli("run", "--preflight-only", "--no-color", "--client", "direct", "--deadline", "60", env=env)
        preflight_listings = s3.listings
        leftover = customer("trunc")
        put(sandbox, f"audit_logs/{leftover}/events.json")
        swept = cli("sweep", "--customer-id", leftover, "--older-than", "0s", "--yes", "--no-color", env=env)
        sweep_listings = s3.listings - preflight_listings
    sandbox.s3_client().delete_object(Bucket=sandbox.bucket, Key=f"audit_logs/{leftover}/events.json")
    assert "Traceback" not in done.stderr + swept.stderr
    assert done.returncode == 3, done.stdout[-3000:]
    assert "0.5" in done.stdout and ("IsTruncated" in done.stdout or "continuation token" in done.stdout), done.stdout[
        -3000:
    ]
    assert preflight_listings <= 12, preflight_listings  # 3 prefixes, a page or two each (was: until the deadline)
    assert swept.returncode == 1 and "Cannot list" in swept.stdout, swept.stdout
    assert sweep_listings <= 12, sweep_listings


@pytest.mark.slow
@pytest.mark.parametrize("trickle", [0.0, 0.05], ids=["endless", "trickle"])
def test_an_s3_listing_that_never_ends_is_cut(sandbox, trickle):
    """botocore reads a listing's whole body before parsing it: a never-ending one grew memory without bound."""
    with EndlessRoute(
        _port(sandbox.s3_endpoint_url),
        "list-type=2",
        trickle=trickle,
        limit=16 * 2000 if trickle else 400 * 1024 * 1024,
    ) as endless:
        store = _store(sandbox, endless.url, timeout=2)
        with pytest.raises(StoreError) as caught:
            store.list_keys("audit_logs/")
        assert endless.endless >= 1
        assert store.get_json("audit_logs/none/events.json") == (None, None)  # other requests are unchanged
    text = str(caught.value)
    assert ("10 MB" in text) if not trickle else ("timeout" in text or "Read timeout" in text), text


@pytest.mark.slow
def test_the_sandbox_prints_no_proxy_for_loopback_in_a_proxied_shell(tmp_path):
    """`zorora-e2e sandbox` in a shell with a proxy: its exports add loopback to NO_PROXY (keeping what was
    there), so a client started with them (Zorora's requests session) reaches the sandbox directly."""
    import signal
    import subprocess

    from helpers.cli import SCRIPT

    with RecordingProxy() as proxy:
        env = {**CLEAN_ENV, **NO_HISTORY, **proxy_env(proxy.url, no_proxy="corp.example")}
        served = subprocess.Popen(
            [SCRIPT, "sandbox"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            exports = {}
            while "ONA_API_BASE_URL" not in exports or "no_proxy" not in exports:
                line = served.stdout.readline()
                assert line, served.stderr.read()
                if line.startswith("export "):
                    name, _, value = line[len("export ") :].strip().partition("=")
                    exports[name] = value.strip("'")
            assert exports["NO_PROXY"].split(",")[0] == "corp.example" and "127.0.0.1" in exports["NO_PROXY"]
            probe = (
                "import os, requests; r = requests.get(os.environ['ONA_API_BASE_URL'] + '/challengers', "
                "params={'customer_id': 'c'}, headers={'Authorization': 'Bearer ' + os.environ['ONA_API_TOKEN']},"
                " timeout=10); print(r.status_code)"
            )
            done = subprocess.run(
                [sys.executable, "-c", probe], env={**env, **exports}, capture_output=True, text=True, timeout=60
            )
            assert done.stdout.strip() == "200", done.stderr[-2000:]
        finally:
            served.send_signal(signal.SIGINT)
            served.communicate(timeout=30)
    assert proxy.requests == []
    done = subprocess.run([SCRIPT, "sandbox", "--help"], env={**CLEAN_ENV}, capture_output=True, text=True)
    assert done.returncode == 0
