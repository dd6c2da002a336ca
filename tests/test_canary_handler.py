"""The Lambda handler (issue 31 item 3), invoked in-process with a fake context against a sandbox on loopback:
settings from the environment, the token from SSM (moto's, served by the sandbox) by --token-from-ssm's rule, the
deadline from the context less its margin, EMF on stdout, the --json result returned, nothing written outside
the temporary directory (an audit hook sees every file the interpreter opens for writing)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from zorora_e2e_plugin.canary import MARGIN_S, flags_from, handler
from zorora_e2e_plugin.sandbox import Sandbox

PARAMETER = "/ona-platform/canary/token"


class Context:
    """What the handler reads of Lambda's context object."""

    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        import boto3

        ssm = boto3.client(
            "ssm",
            region_name=sb.region,
            endpoint_url=sb.internal_s3_endpoint_url,
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        ssm.put_parameter(Name=PARAMETER, Value=sb.token + "\n", Type="SecureString", Overwrite=True)
        sb.seed_customer("acme")
        yield sb


@pytest.fixture
def lambda_env(sandbox, monkeypatch, tmp_path):
    """The function's environment as the template sets it (the token only in SSM), HOME somewhere to watch."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ONA_", "ZORORA_", "TEST_")) or name in ("OUTPUT_BUCKET", "NO_COLOR"):
            monkeypatch.delenv(name)
    for name, value in sandbox.env().items():
        if name != "ONA_API_TOKEN":
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", sandbox.internal_s3_endpoint_url)
    monkeypatch.setenv("ZORORA_E2E_TOKEN_FROM_SSM", PARAMETER)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def emf(out: str) -> list:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


@pytest.mark.slow
def test_the_default_event_runs_the_preflight_and_prints_emf(lambda_env, capsys, sandbox):
    result = handler({}, Context(170_000))
    out = capsys.readouterr().out
    assert result["verdict"] == "passed" and result["exit_code"] == 0, out
    assert {p["id"] for p in result["phases"]} == {0}
    json.dumps(result)  # what Lambda returns must serialise
    docs = emf(out)
    run = next(d for d in docs if "Passed" in d)
    assert (run["Passed"], run["Kind"], run["Target"]) == (
        1,
        "preflight",
        f"127.0.0.1:{sandbox.api_url.split(':')[2].split('/')[0]}/prod",
    )
    assert sandbox.token not in out and sandbox.token not in json.dumps(result)
    assert "previous" in result and result["previous"] is None  # the history is off unless asked


@pytest.mark.slow
def test_for_runs_readiness_and_full_runs_the_plan_without_asking(lambda_env, capsys):
    ready = handler({"for": "acme"}, Context(170_000))
    assert ready["exit_code"] == 0 and ready["readiness"]["answer"]["kind"] == "ready"
    docs = emf(capsys.readouterr().out)
    assert next(d for d in docs if "Ready" in d)["Customer"] == "acme"
    full = handler({"full": True}, Context(170_000))
    assert full["verdict"] == "passed" and {p["id"] for p in full["phases"]} == {0, 1, 2, 3, 4, 5}
    assert next(d for d in emf(capsys.readouterr().out) if "Passed" in d)["Kind"] == "full"


def test_the_deadline_is_the_remaining_time_less_the_margin():
    assert flags_from({}, {}, 170.0).deadline == pytest.approx(170.0 - MARGIN_S)
    assert flags_from({}, {"ZORORA_E2E_DEADLINE": "30"}, 170.0).deadline == 30.0
    assert flags_from({}, {}, None).deadline is None
    assert flags_from({"full": True}, {}, 170.0).assume_yes is True
    assert flags_from({}, {}, 170.0).metrics == ("emf",)
    assert flags_from({}, {"ZORORA_E2E_METRICS": "cloudwatch"}, 170.0).metrics == ("cloudwatch",)


@pytest.mark.parametrize(
    "event, remaining, words",
    [
        ({}, 60_000, "set the function's timeout to at least"),
        ({"fulll": True}, 170_000, "unknown event key(s) fulll"),
        ({"full": "yes"}, 170_000, '"full" must be true or false'),
        ({"for": 3}, 170_000, '"for" must be a customer id'),
        ({"for": "acme", "full": True}, 170_000, "does not combine"),
        ([], 170_000, "must be a JSON object"),
    ],
)
def test_a_bad_event_or_timeout_is_a_config_error_in_one_line(lambda_env, capsys, event, remaining, words):
    result = handler(event, Context(remaining))
    out = capsys.readouterr().out
    assert result["exit_code"] == 2 and result["verdict"] == "config_error" and words in result["error"]
    assert out.count("\n") == 1 and "Traceback" not in out


def test_the_token_comes_from_ssm_by_the_cli_rule(lambda_env, capsys, monkeypatch):
    monkeypatch.setenv("ONA_API_TOKEN", "not-the-token")  # SSM wins, as with --token-from-ssm
    assert handler({}, Context(170_000))["exit_code"] == 0
    monkeypatch.setenv("ZORORA_E2E_TOKEN_FROM_SSM", "/no/such/parameter")
    result = handler({}, Context(170_000))
    assert result["exit_code"] == 2 and "ParameterNotFound" in result["error"]
    capsys.readouterr()


@pytest.mark.slow
def test_nothing_is_written_outside_tmp(lambda_env, capsys, monkeypatch):
    """Every open for writing, mkdir, rename or removal the handler's process does during a preflight and a full
    run: none outside the temporary directory. History asked for (a path under /tmp) is written there."""
    handler({}, Context(170_000))  # the first run imports what it lazily needs (Python caches bytecode)
    history = lambda_env / "history.jsonl"
    monkeypatch.setenv("ZORORA_E2E_HISTORY", str(history))
    writes = []
    watching = [True]

    def audit(event, args):
        if not watching[0]:
            return
        if event == "open" and args[0] is not None and not isinstance(args[0], int):
            mode, flags = args[1] or "", args[2] or 0
            if any(c in str(mode) for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                writes.append(("open", os.fspath(args[0])))
        elif event in ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "os.truncate"):
            writes.append((event, os.fspath(args[0]) if not isinstance(args[0], int) else args[0]))

    sys.addaudithook(audit)
    try:
        first = handler({}, Context(170_000))
        second = handler({"full": True}, Context(170_000))
    finally:
        watching[0] = False
    capsys.readouterr()
    assert first["exit_code"] == second["exit_code"] == 0
    assert second["previous"] is None and first["previous"] is None  # a preflight and a full run: other kinds
    outside = [w for w in writes if not str(w[1]).startswith(str(lambda_env))]
    assert outside == []
    assert history.exists() and len(history.read_text().splitlines()) == 2
    assert ("open", str(history)) in writes  # the hook sees writes: this test can fail
