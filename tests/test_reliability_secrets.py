"""Secrets and bad input.

A canary token must appear nowhere a run writes: console (plain and rich), stderr, JSON, JUnit, the
result objects, even when the server echoes the Authorization header in its error bodies and when the
base URL carries credentials. Bad settings exit 2 with what to fix, and write nothing.
All traffic stays on loopback: the bad-settings runs go through a guard that refuses (and reports)
any lookup or connection beyond 127.0.0.1; `*.invalid` fails like a typo'd host, with no DNS query.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re

import pytest
from helpers.cli import CLEAN_ENV, cli, cli_in_process
from helpers.engine import STANDIN
from helpers.figures import count, leftover_check
from helpers.results import bucket_keys, customer_keys
from helpers.sandbox import customer, module_sandbox
from helpers.wire import SelfSignedServer

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate
from zorora_e2e_plugin.sandbox import Sandbox

CANARY = "canary-TOKEN-3f9a7c21e0b54d68"
URL_USER, URL_PASSWORD = "e2e-user", "canary-PASS-9d2e41b7c6a8"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fragments(secret: str):
    """The secret and pieces of it (a value wrapped across two console lines still shows a piece)."""
    tail = secret.split("-")[-1]
    return [secret, tail[: len(tail) // 2], tail[len(tail) // 2 :]]


SECRETS = (
    fragments(CANARY) + fragments(URL_PASSWORD) + [base64.b64encode(f"{URL_USER}:{URL_PASSWORD}".encode()).decode()]
)


def assert_no_secret(*texts):
    for text in texts:
        plain = ANSI.sub("", text)
        for secret in SECRETS:
            assert secret not in text and secret not in plain, f"{secret!r} leaked in:\n{text[:3000]}"


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, token=CANARY, bucket="zorora-e2e-rel-secrets") as sb:
        yield sb


LEAKY = [  # faults, extra settings, exit code, whether an echoed Authorization header reaches the report
    pytest.param(["echo-auth"], {}, 0, False, id="echo-auth-passing-run"),
    pytest.param(["echo-auth", "stage-prefix"], {}, 3, True, id="echo-auth-every-route-500"),
    pytest.param(["echo-auth", "bad-token"], {}, 3, True, id="echo-auth-401-gate"),
    pytest.param(["echo-auth", "noop-rollback"], {}, 1, False, id="echo-auth-failed-check"),
    pytest.param(
        ["echo-auth", "no-latest-alias"], {"PYTHONPATH": STANDIN}, 1, True, id="through-zorora-commands"
    ),  # fails 3.1 in Zorora's promote
    pytest.param(["echo-auth"], {"endpoint_credentials": True}, 0, False, id="credentials-in-s3-endpoint"),
]


@pytest.mark.parametrize("faults, extra, code, echoed", LEAKY)
@pytest.mark.parametrize("colour", ["plain", "rich"])
def test_the_token_never_leaks_from_a_cli_run(sandbox, tmp_path, faults, extra, code, echoed, colour):
    count("secrets")
    sandbox.set_faults(faults)
    try:
        env = dict(sandbox.env())
        extra = dict(extra)
        if extra.pop("endpoint_credentials", False):  # botocore signs with the keys; the URL's part is ignored
            credentials = f"http://{URL_USER}:{URL_PASSWORD}@"
            env["AWS_ENDPOINT_URL_S3"] = env["AWS_ENDPOINT_URL_S3"].replace("http://", credentials)
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
    """In process: every StepResult, notice, the RunResult and the Settings' repr; the S3 endpoint carries
    credentials and does not answer, so botocore quotes it in step 0.4's error."""
    count("secrets")
    sandbox.set_faults(["echo-auth", "stage-prefix"])
    try:
        target = dataclasses.replace(
            sandbox_target(sandbox), s3_endpoint_url=f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:9"
        )
        settings = resolve(RunFlags(client="direct", customer_id=customer("sec")), {}, target=target)
        seen, out = Everything(), io.StringIO()
        result = validate(settings, console=make_console(file=out, no_color=True), options=RunOptions(observers=[seen]))
    finally:
        sandbox.set_faults([])
    assert result.exit_code == 3  # every route 500 (echoing the token) and S3 unreachable
    assert any("received_authorization" in t for t in seen.texts)
    s3_step = next(s for s in result.steps if s.id == "0.4")
    assert "127.0.0.1:9" in s3_step.actual, s3_step  # the endpoint is named, its credentials are not
    assert_no_secret(
        out.getvalue(),
        repr(settings),
        str(settings),
        repr(result),
        result.cleanup.sweep_command,
        json.dumps(result.to_dict()),
        *seen.texts,
    )


def test_settings_errors_never_print_url_credentials():
    count("secrets")
    for url in (
        f"ftp://{URL_USER}:{URL_PASSWORD}@127.0.0.1/prod/api/v1",
        f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:99999/prod/api/v1",
        f"http://{URL_USER}:{URL_PASSWORD}@[::1/prod/api/v1",
    ):
        done = cli_in_process("run", "--base-url", url, "--token", CANARY)
        assert done.returncode == 2, done.stderr
        assert_no_secret(done.stdout, done.stderr)


# ----------------------------------------------------------------------------- secrets in URLs (issue 9 item 9)

BASE_URL_SECRETS = {  # how the secret would ride in the base URL, and the word the refusal must use
    "query-token": ("http://127.0.0.1:{port}/prod/api/v1?token={secret}", "query"),
    "query-only-key": ("http://127.0.0.1:{port}/prod/api/v1/?api_key={secret}&x=1", "query"),
    "fragment": ("http://127.0.0.1:{port}/prod/api/v1#{secret}", "fragment"),
    "user-password": ("http://e2e-user:{secret}@127.0.0.1:{port}/prod/api/v1", "credentials"),
    "password-only": ("http://:{secret}@127.0.0.1:{port}/prod/api/v1", "credentials"),
    "user-is-the-token": ("http://{secret}@127.0.0.1:{port}/prod/api/v1", "credentials"),
}


@pytest.mark.parametrize("case", sorted(BASE_URL_SECRETS))
def test_a_base_url_carrying_a_secret_is_refused_before_anything_runs(sandbox, tmp_path, case):
    """Exit 2 naming what to remove; the secret is not in the message; not one request is sent."""
    template, word = BASE_URL_SECRETS[case]
    port = sandbox.api_url.split(":")[2].split("/")[0]
    url = template.format(port=port, secret=URL_PASSWORD)
    env = {**sandbox.env(), "ONA_API_BASE_URL": url}
    before = len(sandbox.request_log)
    done = cli("run", "--client", "direct", "--no-color", "--json", str(tmp_path / "r.json"), env=env)
    count("secret_forms")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ONA_API_BASE_URL" in done.stderr and word in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)
    assert sandbox.request_log[before:] == []  # refused at settings time: no API call, no S3 call
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_s3_endpoint_credentials_are_redacted_by_a_run_and_by_the_sweep(sandbox, tmp_path):
    """botocore quotes the endpoint URL in its errors (step 0.4, the sweep's listing) and the run prints a
    sweep command naming the endpoint: the user:password part is never shown."""
    endpoint = f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:9"
    env = {**sandbox.env(), "AWS_ENDPOINT_URL_S3": endpoint}
    run = cli(
        "run",
        "--client",
        "direct",
        "--no-color",
        "--preflight-only",
        "--json",
        str(tmp_path / "r.json"),
        "--junit",
        str(tmp_path / "r.xml"),
        env=env,
    )
    assert run.returncode in (2, 3), run.stdout + run.stderr
    assert "0.4" in run.stdout and "127.0.0.1:9" in run.stdout, run.stdout
    sweep = cli("sweep", "--older-than", "0s", "--dry-run", "--no-color", env=env)
    assert sweep.returncode == 1 and "127.0.0.1:9" in sweep.stdout, sweep.stdout + sweep.stderr
    bad = cli("sweep", "--s3-endpoint-url", f"ftp://{URL_USER}:{URL_PASSWORD}@127.0.0.1:9", env=env)
    assert bad.returncode == 2, bad.stderr
    count("secret_forms", 3)
    for done in (run, sweep, bad):
        assert "Traceback" not in done.stdout + done.stderr
        assert_no_secret(done.stdout, done.stderr)
    assert_no_secret((tmp_path / "r.json").read_text(), (tmp_path / "r.xml").read_text())


# ----------------------------------------------------------------------------- odd tokens (items 7, 8)


def leak_forms(secret: str):
    """What a leak of `secret` looks like in text: raw, JSON-escaped, repr, URL-encoded, and every 8-character
    piece of each (computed here, independently of the redactor)."""
    from urllib.parse import quote

    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        repr(secret.encode("latin-1", "replace"))[2:-1],
    }
    pieces = {f[i : i + 8] for f in forms for i in range(len(f) - 7)}
    return sorted(forms | pieces, key=len, reverse=True)


def assert_no_form(secret, *texts):
    for text in texts:
        plain = ANSI.sub("", text)
        for form in leak_forms(secret):
            assert form not in text and form not in plain, f"{form!r} (a form of the token) leaked in:\n{text[:3000]}"


ODD_TOKENS = {  # each with characters that change when escaped, quoted or encoded
    "backslash-and-quote": 'odd\\tok"en-7f3a9c1e\\"d4b8',
    "latin-1": "odd-tökén-5e2a9c71-ßø-b3d8e0f4",
    "single-quote-percent-plus": "odd'tok%en+7a/9c 1e=d4;b8&<x>",
    "json-unicode-escape-lookalike": "odd\\u0041tok-\\n-6c0e2b9a4f",
}


@pytest.mark.parametrize("name", sorted(ODD_TOKENS))
def test_an_odd_token_echoed_by_the_server_never_leaks_in_any_form(tmp_path, name):
    """echo-auth + stage-prefix: every answer is a 500 whose JSON body repeats the Authorization header, so the
    token comes back JSON-escaped (\\", \\\\, \\u00f6); console, JSON and JUnit must show none of its forms."""
    token = ODD_TOKENS[name]
    with Sandbox(token=token, bucket="zorora-e2e-rel-odd-tokens", faults=["echo-auth", "stage-prefix"]) as sb:
        env = sb.env()
        done = cli(
            "run",
            "--client",
            "direct",
            "--no-color",
            "--json",
            str(tmp_path / "r.json"),
            "--junit",
            str(tmp_path / "r.xml"),
            env=env,
        )
        stray = bucket_keys(sb)
    count("secret_forms")
    assert done.returncode in (1, 3), done.stdout + done.stderr  # every route answers 500
    assert "received_authorization" in done.stdout  # the echo reached the report, redacted
    assert "Traceback" not in done.stdout + done.stderr
    assert_no_form(token, done.stdout, done.stderr, (tmp_path / "r.json").read_text(), (tmp_path / "r.xml").read_text())
    assert leftover_check(stray) == []


def test_the_redactor_covers_every_form_and_long_piece():
    from urllib.parse import quote, quote_plus

    from zorora_e2e_plugin.core.redact import make_redactor

    for token in [*ODD_TOKENS.values(), CANARY]:
        redact = make_redactor([token])
        texts = [
            token,
            json.dumps(token),
            json.dumps({"a": json.dumps(token)}),
            repr(token),
            repr(f"Bearer {token}\r"),
            quote(token, safe=""),
            quote_plus(token),
            quote(token).lower(),
            token[3:14],
            token[-9:],
            base64.b64encode(token.encode()).decode(),
            repr(token.encode("utf-8")),
        ]
        for text in texts:
            assert_no_form(token, redact(f"before {text} after"))
        count("secret_forms")
    assert make_redactor(["s3cr3t-token"])("no secret here") == "no secret here"


@pytest.mark.slow
def test_a_token_with_a_line_ending_is_refused_or_stripped(sandbox, tmp_path):
    """--token keeps what it is given: a CR in it is refused, naming --token, without showing it. From the
    environment (a token file saved on Windows, `$(cat file)`) surrounding whitespace is stripped and the run
    works; a control character inside is refused naming ONA_API_TOKEN."""
    env = sandbox.env()
    before = len(sandbox.request_log)
    cases = [
        (["--token", CANARY + "\r"], {}, "--token", "carriage return"),
        (["--token", CANARY[:10] + "\n" + CANARY[10:]], {}, "--token", "line feed"),
        ([], {"ONA_API_TOKEN": CANARY[:10] + "\t" + CANARY[10:]}, "ONA_API_TOKEN", "tab"),
        ([], {"ONA_API_TOKEN": CANARY + "\x1b[2J"}, "ONA_API_TOKEN", "U+001B"),
        ([], {"ONA_API_TOKEN": CANARY[:6] + "\x85" + CANARY[6:]}, "ONA_API_TOKEN", "U+0085"),
    ]
    for args, extra, setting, what in cases:
        done = cli_in_process(
            "run", "--client", "direct", "--no-color", "--json", str(tmp_path / "r.json"), *args, env={**env, **extra}
        )
        count("secret_forms")
        assert done.returncode == 2, done.stdout + done.stderr
        assert setting in done.stderr and what in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (tmp_path / "r.json").exists()
        assert_no_secret(done.stdout, done.stderr)
    assert sandbox.request_log[before:] == []  # nothing was sent, let alone written
    done = cli(
        "run",
        "--client",
        "direct",
        "--no-color",
        "--preflight-only",
        "--json",
        str(tmp_path / "ok.json"),
        env={**env, "ONA_API_TOKEN": f"  {CANARY}\r\n"},
    )
    count("secret_forms")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_no_secret(done.stdout, done.stderr, (tmp_path / "ok.json").read_text())


SSM_PROBE = r"""
import json, sys
from moto import mock_aws
import boto3
from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.config.checks import SettingsError

canary, out = sys.argv[1], {}
with mock_aws():
    ssm = boto3.client("ssm", region_name="af-south-1")
    ssm.put_parameter(Name="/t/token", Value=canary + "\r\n", Type="SecureString")
    ssm.put_parameter(Name="/t/broken", Value=canary[:8] + "\r" + canary[8:], Type="SecureString")
    env = {"ONA_API_BASE_URL": "http://127.0.0.1:9/prod/api/v1"}
    out["stripped"] = resolve(RunFlags(token_from_ssm="/t/token"), env).token == canary
    try:
        resolve(RunFlags(token_from_ssm="/t/broken"), env)
    except SettingsError as exc:
        out["refused"] = str(exc)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_token_read_from_ssm_with_its_line_ending_works():
    """`--token-from-ssm`: ssm.read_token against moto's SSM (AWS is the one thing mocked; in a process of its
    own, as mock_aws resets moto's process-wide state), a value stored with a trailing CR LF: stripped; one
    with a CR inside: refused naming the parameter, the value not shown."""
    import subprocess
    import sys

    pytest.importorskip("moto")
    env = {**CLEAN_ENV, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run(
        [sys.executable, "-c", SSM_PROBE, CANARY], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["stripped"] is True
    assert "/t/broken" in out["refused"] and "carriage return" in out["refused"], out
    assert_no_secret(out["refused"], done.stderr)
    count("secret_forms", 2)


def test_in_the_repl_a_token_with_a_line_ending_is_refused_naming_the_variable(host, monkeypatch):
    """The REPL's client read ONA_API_TOKEN at start-up, CR and all (Zorora does not strip it): the run refuses
    it naming ONA_API_TOKEN, shows no part of it, and sends nothing."""
    from standin.harness import output

    import zorora_e2e_plugin

    monkeypatch.setenv("ONA_API_BASE_URL", "http://127.0.0.1:9/prod/api/v1")
    monkeypatch.setenv("ONA_API_TOKEN", CANARY + "\r")
    repl = host.repl()
    zorora_e2e_plugin.register(repl)
    repl.handle("ml-validate-e2e --preflight-only")
    text = output(repl)
    count("secret_forms")
    assert "ONA_API_TOKEN" in text and "carriage return" in text, text
    assert "Phase 0" not in text and "Traceback" not in text
    assert_no_secret(text, *map(str, repl.responses))


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
        "host-does-not-resolve": (["--base-url", "https://ona-api-typo.invalid/prod/api/v1"], env, "does not resolve"),
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


BAD = [
    "unparseable-url",
    "url-without-host",
    "host-does-not-resolve",
    "tls-failure",
    "wrong-bucket",
    "bad-bucket-name",
    "no-aws-credentials",
    "non-test-customer",
    "bare-test-prefix",
    "negative-timeout",
    "zero-deadline",
    "unknown-phase",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_settings_exit_2_with_the_fix_and_write_nothing(sandbox, tls_server, case):
    args, env, fix = bad_settings_cases(sandbox, tls_server)[case]
    cid = customer("bad")
    if "--customer-id" not in args:
        args = args + ["--customer-id", cid]
    before = bucket_keys(sandbox)
    s3_log = len(sandbox.request_log)
    # --yes: a target that is not local (a typo'd host) would otherwise be refused before the preflight
    # that diagnoses it (no terminal here); the confirmation rule itself is tested in test_confirm/test_cli
    done = cli("run", "--client", "direct", "--no-color", "--yes", *args, env=env, guard=True)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert fix in " ".join(out.split()), out
    assert "Traceback" not in out
    assert "LOOPBACK-GUARD" not in done.stderr, done.stderr  # nothing tried to leave the machine
    assert bucket_keys(sandbox) == before and customer_keys(sandbox, cid) == []
    writes = [r for r in sandbox.request_log[s3_log:] if r.kind == "s3" and r.method in ("PUT", "POST")]
    # at most the preflight probe, the run's claim on its customer id (0.4 runs alongside 0.1; the cleanup deletes
    # it); never test data
    assert all(r.path.endswith("/zorora-e2e-claim.txt") for r in writes), writes
    if case == "tls-failure":
        assert tls_server.requests == 0  # the handshake failed: not one request was served
    count("bad_settings")
    leftover_check(customer_keys(sandbox, cid))


@pytest.mark.slow
def test_the_loopback_guard_reports_what_would_have_left_the_machine():
    """The guard itself works: a real-looking host is refused and reported (and not looked up)."""
    done = cli(
        "run",
        "--client",
        "direct",
        "--preflight-only",
        "--no-color",
        "--base-url",
        "https://abc123.execute-api.af-south-1.amazonaws.com/prod/api/v1",
        env={"ONA_API_TOKEN": CANARY, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"},
        guard=True,
    )
    assert "LOOPBACK-GUARD: refused lookup of 'abc123.execute-api.af-south-1.amazonaws.com'" in done.stderr
    assert done.returncode == 2  # it looks like a name that does not resolve
    assert_no_secret(done.stdout, done.stderr)
    assert CLEAN_ENV["AWS_EC2_METADATA_DISABLED"] == "true"
