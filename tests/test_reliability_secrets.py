"""Secrets and bad input.

A canary token must appear nowhere a run writes: console (plain and rich), stderr, JSON, JUnit, the
result objects, even when the server echoes the Authorization header in its error bodies and when the
base URL carries credentials. Bad settings exit 2 with what to fix, and write nothing.
All traffic stays on loopback: the bad-settings runs go through a guard that refuses (and reports)
any lookup or connection beyond 127.0.0.1; `*.invalid` fails like a typo'd host, with no DNS query.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re

import pytest

from reliability_helpers import (CLEAN_ENV, SelfSignedServer, bucket_keys, cli, count, customer,
                                 customer_keys, leftover_check, register_figures)
from zorora_e2e_plugin.engine import sandbox_flags, validate
from zorora_e2e_plugin.report import make_console
from zorora_e2e_plugin.runner import Reporter
from zorora_e2e_plugin.sandbox import Sandbox
from zorora_e2e_plugin.settings import resolve

CANARY = "canary-TOKEN-3f9a7c21e0b54d68"
URL_USER, URL_PASSWORD = "e2e-user", "canary-PASS-9d2e41b7c6a8"
STANDIN = os.path.join(os.path.dirname(__file__), "standin")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fragments(secret: str):
    """The secret and pieces of it (a value wrapped across two console lines still shows a piece)."""
    tail = secret.split("-")[-1]
    return [secret, tail[: len(tail) // 2], tail[len(tail) // 2:]]


SECRETS = fragments(CANARY) + fragments(URL_PASSWORD) + [
    base64.b64encode(f"{URL_USER}:{URL_PASSWORD}".encode()).decode()]


def assert_no_secret(*texts):
    for text in texts:
        plain = ANSI.sub("", text)
        for secret in SECRETS:
            assert secret not in text and secret not in plain, f"{secret!r} leaked in:\n{text[:3000]}"


@pytest.fixture(scope="module")
def sandbox(request):
    register_figures(request.config)
    with Sandbox(token=CANARY, bucket="zorora-e2e-rel-secrets") as sb:
        yield sb
        assert leftover_check(bucket_keys(sb)) == []


LEAKY = [  # faults, extra settings, exit code, whether an echoed Authorization header reaches the report
    pytest.param(["echo-auth"], {}, 0, False, id="echo-auth-passing-run"),
    pytest.param(["echo-auth", "stage-prefix"], {}, 3, True, id="echo-auth-every-route-500"),
    pytest.param(["echo-auth", "bad-token"], {}, 3, True, id="echo-auth-401-gate"),
    pytest.param(["echo-auth", "noop-rollback"], {}, 1, False, id="echo-auth-failed-check"),
    pytest.param(["echo-auth", "no-latest-alias"], {"PYTHONPATH": STANDIN}, 1, True, id="through-zorora-commands"),  # fails 3.1 in Zorora's promote
    pytest.param(["echo-auth"], {"url_credentials": True}, 3, True, id="credentials-in-base-url"),
]


@pytest.mark.parametrize("faults, extra, code, echoed", LEAKY)
@pytest.mark.parametrize("colour", ["plain", "rich"])
def test_the_token_never_leaks_from_a_cli_run(sandbox, tmp_path, faults, extra, code, echoed, colour):
    count("secrets")
    sandbox.set_faults(faults)
    try:
        env = dict(sandbox.env())
        extra = dict(extra)
        if extra.pop("url_credentials", False):
            credentials = f"http://{URL_USER}:{URL_PASSWORD}@"
            env["ONA_API_BASE_URL"] = env["ONA_API_BASE_URL"].replace("http://", credentials)
        env.update(extra)
        args = ["run", "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]
        args += ["--client", "zorora"] if "PYTHONPATH" in env else ["--client", "direct"]
        if colour == "plain":
            args.append("--no-color")
        else:
            env.update(FORCE_COLOR="1", COLUMNS="100")
        done = cli(*args, env=env)
    finally:
        sandbox.set_faults([])
    assert done.returncode == code, done.stdout + done.stderr
    if colour == "rich":
        assert "\x1b[" in done.stdout  # really the coloured output
    if echoed:
        unwrapped = "".join(done.stdout.split())  # a long body may be folded across lines
        assert "received_authorization" in unwrapped  # the echoed header reached the report, redacted
    assert "Traceback" not in done.stdout + done.stderr
    assert_no_secret(done.stdout, done.stderr, (tmp_path / "r.json").read_text(), (tmp_path / "r.xml").read_text())


class Everything(Reporter):
    """Keeps every event a reporter receives."""

    def __init__(self):
        self.texts = []

    def step_finished(self, result):
        self.texts.append(repr(result))

    def notice(self, text):
        self.texts.append(text)

    def run_finished(self, result):
        self.texts.append(repr(result))


def test_the_token_never_leaks_into_result_objects_or_exception_texts(sandbox):
    """In process: every StepResult, notice, the RunResult and the Settings' repr."""
    count("secrets")
    sandbox.set_faults(["echo-auth", "stage-prefix"])
    try:
        flags = sandbox_flags(sandbox, {"client": "direct", "customer_id": customer("sec")})
        flags["base_url"] = sandbox.api_url.replace("http://", f"http://{URL_USER}:{URL_PASSWORD}@")
        settings = resolve(flags, {})
        seen, out = Everything(), io.StringIO()
        result = validate(settings, console=make_console(file=out, no_color=True), observers=[seen])
    finally:
        sandbox.set_faults([])
    assert result.exit_code == 3  # Basic auth from the URL replaced the bearer token: 401, echoed back
    assert any("received_authorization" in t for t in seen.texts)
    assert_no_secret(out.getvalue(), repr(settings), str(settings), repr(result),
                     json.dumps(result.to_dict()), *seen.texts)


def test_settings_errors_never_print_url_credentials():
    count("secrets")
    for url in (f"ftp://{URL_USER}:{URL_PASSWORD}@127.0.0.1/prod/api/v1",
                f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:99999/prod/api/v1",
                f"http://{URL_USER}:{URL_PASSWORD}@[::1/prod/api/v1"):
        done = cli("run", "--base-url", url, "--token", CANARY)
        assert done.returncode == 2, done.stderr
        assert_no_secret(done.stdout, done.stderr)


# ----------------------------------------------------------------------------- bad settings

@pytest.fixture
def tls_server():
    with SelfSignedServer() as server:
        yield server


def bad_settings_cases(sandbox, tls_server):
    env = sandbox.env()
    no_credentials = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    return {
        "unparseable-url": (["--base-url", "http://[::1/prod/api/v1"], env, "not a valid URL"),
        "url-without-host": (["--base-url", "https:///prod/api/v1"], env, "with a host"),
        "host-does-not-resolve": (["--base-url", "https://ona-api-typo.invalid/prod/api/v1"], env,
                                  "does not resolve"),
        "tls-failure": (["--base-url", tls_server.url], env, "TLS handshake failed"),
        "wrong-bucket": (["--bucket", "zorora-e2e-no-such-bucket"], env, "bucket does not exist"),
        "bad-bucket-name": (["--bucket", "Not_A_Bucket"], env, "not a valid S3 bucket name"),
        "no-aws-credentials": ([], no_credentials, "no AWS credentials"),
        "non-test-customer": (["--customer-id", "acme-solar"], env, "must start with 'zorora-e2e-test-'"),
        "bare-test-prefix": (["--customer-id", "zorora-e2e-test-"], env, "must start with 'zorora-e2e-test-'"),
        "negative-timeout": (["--timeout", "-3"], env, "--timeout must be a positive number"),
        "zero-deadline": (["--deadline", "0"], env, "--deadline must be a positive number"),
        "unknown-phase": (["--phase", "9"], env, "--phase must be between 0 and 5"),
    }


BAD = ["unparseable-url", "url-without-host", "host-does-not-resolve", "tls-failure", "wrong-bucket",
       "bad-bucket-name", "no-aws-credentials", "non-test-customer", "bare-test-prefix", "negative-timeout",
       "zero-deadline", "unknown-phase"]


@pytest.mark.parametrize("case", BAD)
def test_bad_settings_exit_2_with_the_fix_and_write_nothing(sandbox, tls_server, case):
    args, env, fix = bad_settings_cases(sandbox, tls_server)[case]
    cid = customer("bad")
    if "--customer-id" not in args:
        args = args + ["--customer-id", cid]
    before = bucket_keys(sandbox)
    s3_log = len(sandbox.request_log)
    done = cli("run", "--client", "direct", "--no-color", *args, env=env, guard=True)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert fix in " ".join(out.split()), out
    assert "Traceback" not in out
    assert "LOOPBACK-GUARD" not in done.stderr, done.stderr  # nothing tried to leave the machine
    assert bucket_keys(sandbox) == before and customer_keys(sandbox, cid) == []
    writes = [r for r in sandbox.request_log[s3_log:] if r.kind == "s3" and r.method in ("PUT", "POST")]
    # at most the preflight probe (0.4 runs alongside 0.1 and deletes it at once); never test data
    assert all("/preflight-probe-" in r.path for r in writes), writes
    if case == "tls-failure":
        assert tls_server.requests == 0  # the handshake failed: not one request was served
    count("bad_settings")
    leftover_check(customer_keys(sandbox, cid))


def test_the_loopback_guard_reports_what_would_have_left_the_machine():
    """The guard itself works: a real-looking host is refused and reported (and not looked up)."""
    done = cli("run", "--client", "direct", "--preflight-only", "--no-color",
               "--base-url", "https://abc123.execute-api.af-south-1.amazonaws.com/prod/api/v1",
               env={"ONA_API_TOKEN": CANARY, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}, guard=True)
    assert "LOOPBACK-GUARD: refused lookup of 'abc123.execute-api.af-south-1.amazonaws.com'" in done.stderr
    assert done.returncode == 2  # it looks like a name that does not resolve
    assert_no_secret(done.stdout, done.stderr)
    assert CLEAN_ENV["AWS_EC2_METADATA_DISABLED"] == "true"
