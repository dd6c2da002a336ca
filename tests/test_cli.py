"""`zorora-e2e` as a user runs it: the installed console script, in a subprocess."""

import json
import signal
import subprocess

import pytest
import requests
from helpers.cli import CLEAN_ENV, SCRIPT, cli, cli_in_process, read_exports
from helpers.engine import STEPS

from zorora_e2e_plugin.core.outcomes import PASSED
from zorora_e2e_plugin.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


def test_no_command_prints_help_and_exits_2():
    done = cli()
    assert done.returncode == 2 and "demo" in done.stdout and "run" in done.stdout


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["run"], {}, "ONA_API_BASE_URL"),
        (["run", "--base-url", "https://x.example/prod/api/v1"], {}, "ONA_API_TOKEN"),
        (
            ["run", "--customer-id", "acme"],
            {"ONA_API_BASE_URL": "https://x/prod/api/v1", "ONA_API_TOKEN": "t"},
            "zorora-e2e-test-",
        ),
        (["run", "--timeout", "-3"], {"ONA_API_BASE_URL": "https://x/prod/api/v1", "ONA_API_TOKEN": "t"}, "positive"),
        (["demo", "--fault", "no-such-fault"], {}, "stage-prefix"),
    ],
)
def test_usage_and_config_errors_exit_2_without_a_traceback(args, env, message):
    done = cli_in_process(*args, env=env)
    assert done.returncode == 2, done
    assert message in done.stderr and "Traceback" not in done.stderr + done.stdout


@pytest.mark.slow
def test_demo_preflight_only_passes():
    done = cli("demo", "--preflight-only", "--no-color")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Preflight passed" in done.stdout


@pytest.mark.slow
def test_run_against_a_served_sandbox_with_json(sandbox, tmp_path):
    out = tmp_path / "result.json"
    done = cli("run", "--json", str(out), "--client", "direct", env=sandbox.env())
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())
    assert data["verdict"] == PASSED and len(data["steps"]) == STEPS
    assert sandbox.token not in done.stdout + out.read_text()


def _under_host_name(url):
    """The sandbox's URL under this machine's host name: reachable, but not 'local' to the settings."""
    import socket
    from urllib.parse import urlsplit, urlunsplit

    name = socket.gethostname()
    try:
        if "127.0.0.1" not in {i[4][0] for i in socket.getaddrinfo(name, None, socket.AF_INET)}:
            pytest.skip(f"host name {name!r} does not resolve to 127.0.0.1")
    except OSError:
        pytest.skip(f"host name {name!r} does not resolve")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{name}:{parts.port}", parts.path, "", ""))


@pytest.mark.slow
def test_run_against_a_non_local_target_without_a_terminal_refuses_unless_yes(sandbox):
    """The one confirmation rule (engine.may_write), as `zorora-e2e run` follows it: stdin is not a terminal,
    so a run that would write to a non-local target refuses, writes nothing and exits 1; --yes runs it."""
    env = {**sandbox.env(), "ONA_API_BASE_URL": _under_host_name(sandbox.api_url)}
    customer = "zorora-e2e-test-cli-refuse-1"
    done = cli("run", "--no-color", "--customer-id", customer, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Re-run with --yes" in done.stdout and f"customer_tailored/{customer}/" in done.stdout
    assert "Phase 0" not in done.stdout
    keys = [o["Key"] for o in sandbox.s3_client().list_objects_v2(Bucket=sandbox.bucket).get("Contents", [])]
    assert not [k for k in keys if customer in k]
    done = cli("run", "--no-color", "--yes", "--customer-id", customer, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Re-run with --yes" not in done.stdout and "E2E validation passed" in done.stdout


def test_wrong_token_is_a_gate_failure_exit_3(sandbox):
    done = cli("run", "--no-color", env={**sandbox.env(), "ONA_API_TOKEN": "not-the-token"})
    assert done.returncode == 3, done.stdout
    assert "INTERNAL_API_TOKEN" in done.stdout and "Preflight gate failed" in done.stdout


def test_sandbox_command_serves_until_interrupted():
    proc = subprocess.Popen(
        [SCRIPT, "sandbox", "--token", "tok-cli-test"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
    )
    try:
        exports = read_exports(proc)
        base = exports["ONA_API_BASE_URL"]
        assert base.startswith("http://127.0.0.1:") and base.endswith("/prod/api/v1")
        assert exports["ONA_API_TOKEN"] == "tok-cli-test" and exports["OUTPUT_BUCKET"] == "sa-api-client-output"
        assert requests.get(f"{base}/challengers", params={"customer_id": "x"}, timeout=5).status_code == 401
        answer = requests.get(
            f"{base}/challengers",
            params={"customer_id": "x"},
            headers={"Authorization": "Bearer tok-cli-test"},
            timeout=5,
        )
        assert answer.status_code == 200
        assert answer.json() == {"customer_id": "x", "challengers": [], "count": 0}
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
    assert code == 0
    assert "Traceback" not in proc.stderr.read()


def test_sandbox_help_lists_the_faults():
    done = cli("sandbox", "--help")
    assert done.returncode == 0
    for name in ("stage-prefix", "metrics-non-greedy", "latency", "flaky"):
        assert name in done.stdout


def test_token_from_ssm(sandbox):
    """--token-from-ssm reads the SecureString (SSM served by the sandbox's moto on loopback)."""
    import boto3

    ssm = boto3.client(
        "ssm",
        region_name=sandbox.region,
        endpoint_url=sandbox.internal_s3_endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    ssm.put_parameter(
        Name="/ona-platform/prod/global-training-api-token", Value=sandbox.token, Type="SecureString", Overwrite=True
    )
    env = {k: v for k, v in sandbox.env().items() if k != "ONA_API_TOKEN"}
    env["AWS_ENDPOINT_URL_SSM"] = sandbox.internal_s3_endpoint_url
    done = cli("run", "--token-from-ssm", "--preflight-only", "--no-color", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sandbox.token not in done.stdout
    missing = cli("run", "--token-from-ssm", "/no/such/parameter", "--preflight-only", env=env)
    assert missing.returncode == 2 and "ParameterNotFound" in missing.stderr


@pytest.mark.slow
def test_demo_preflight_only_names_a_missing_promote_route_exit_3():
    done = cli("demo", "--preflight-only", "--no-color", "--fault", "missing-route:/promote")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "0.5" in done.stdout and "POST /promote" in done.stdout and "Preflight gate failed" in done.stdout


# ----------------------------------------------------------------------------- issue 29 items 8 and 14: the token

TYPED = "typed on the command line"


def _token_lines(text):
    return [line for line in text.splitlines() if TYPED in line]


@pytest.mark.slow
def test_a_token_typed_on_the_command_line_is_warned_about_once(sandbox):
    """Item 14: `--token T` is in `ps` and /proc/*/cmdline for every user, and in the shell's history: one line on
    stderr says so, and names the ways that leak nothing."""
    env = {k: v for k, v in sandbox.env().items() if k != "ONA_API_TOKEN"}
    done = cli("run", "--preflight-only", "--no-color", "--token", sandbox.token, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    warned = _token_lines(done.stderr)
    assert len(warned) == 1 and not _token_lines(done.stdout), done.stderr
    for named in ("ps", "history", "ONA_API_TOKEN", "--token-from-ssm", "--token -"):
        assert named in warned[0], warned
    assert sandbox.token not in done.stdout + done.stderr
    quiet = cli("run", "--preflight-only", "--no-color", env=sandbox.env())  # from the environment: nothing said
    assert quiet.returncode == 0 and not _token_lines(quiet.stderr + quiet.stdout)


@pytest.mark.parametrize("given", ["{token}\n", "{token}", "  {token}\r\n"])
def test_token_dash_reads_the_token_from_stdin(sandbox, given):
    env = {k: v for k, v in sandbox.env().items() if k != "ONA_API_TOKEN"}
    done = subprocess.run(
        [SCRIPT, "run", "--preflight-only", "--no-color", "--token", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**CLEAN_ENV, **env},
        input=given.format(token=sandbox.token),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Preflight passed" in done.stdout and not _token_lines(done.stderr)
    assert sandbox.token not in done.stdout + done.stderr


def test_token_dash_with_nothing_on_stdin_is_a_settings_error(sandbox):
    env = {k: v for k, v in sandbox.env().items() if k != "ONA_API_TOKEN"}
    done = subprocess.run(
        [SCRIPT, "run", "--preflight-only", "--token", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**CLEAN_ENV, **env},
        input="",
    )
    assert done.returncode == 2 and "--token -" in done.stderr and "stdin" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_token_dash_on_a_terminal_asks_without_echo(sandbox):
    import pexpect

    env = {**CLEAN_ENV, **{k: v for k, v in sandbox.env().items() if k != "ONA_API_TOKEN"}, "TERM": "dumb"}
    child = pexpect.spawn(
        SCRIPT,
        ["run", "--preflight-only", "--no-color", "--token", "-"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 100),
    )
    child.expect("API token")
    child.sendline(sandbox.token)
    child.expect("Preflight passed")
    assert sandbox.token not in child.before  # not echoed, not printed
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and sandbox.token not in child.before


@pytest.mark.parametrize("pasted", ["Bearer {token}", "bearer  {token}", "Authorization: Bearer {token}"])
def test_a_token_pasted_with_its_scheme_is_used_without_it_and_said_so(sandbox, pasted):
    """Item 8: `ONA_API_TOKEN='Bearer …'` made the client send `Bearer Bearer …`, and the 401 was blamed on SSM. The
    CLI builds its own client: it drops the scheme, says so once on stderr, and the run judges the deployment."""
    done = cli(
        "run",
        "--preflight-only",
        "--no-color",
        env={**sandbox.env(), "ONA_API_TOKEN": pasted.format(token=sandbox.token)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "INTERNAL_API_TOKEN" not in done.stdout and "Preflight passed" in done.stdout
    said = [line for line in done.stderr.splitlines() if "scheme" in line]
    assert len(said) == 1 and "ONA_API_TOKEN" in said[0] and "without it" in said[0], done.stderr
    assert sandbox.token not in done.stdout + done.stderr
