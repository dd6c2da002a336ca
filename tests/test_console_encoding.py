"""A stdout that cannot encode the report's symbols (issue 17 item 9): `PYTHONIOENCODING=ascii`, `latin-1`,
`LC_ALL=C PYTHONUTF8=0` (a Windows console or redirected output in a legacy code page does the same).

Each command prints its whole output there, with ASCII symbols, and no traceback: before, `demo` exited 0 with
nothing on stdout or stderr (the encoding error was taken for a closed pipe) and `history` crashed.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess

import pytest
from helpers.cli import CLEAN_ENV, SCRIPT
from helpers.results import put
from helpers.sandbox import customer, module_sandbox

from zorora_e2e_plugin.core.outcomes import FAIL, PASS, SKIP, WARN

ENCODINGS = [
    pytest.param({"PYTHONIOENCODING": "ascii"}, "ascii", id="ascii"),
    pytest.param({"PYTHONIOENCODING": "latin-1"}, "latin-1", id="latin-1"),
    pytest.param({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, "ascii", id="LC_ALL=C"),
]


def env_for(extra):
    base = {
        k: v for k, v in CLEAN_ENV.items() if k not in ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING", "PYTHONUTF8")
    }
    return {**base, **{k: v for k, v in extra.items() if v}}


def run_bytes(*args, env, timeout=180):
    return subprocess.run([SCRIPT, *args], capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def decoded(data: bytes, encoding: str) -> str:
    return data.decode(encoding)  # strict: what the stream wrote is in its own encoding


def assert_clean(done, encoding):
    out, err = decoded(done.stdout, encoding), decoded(done.stderr, encoding)
    assert "Traceback" not in err and "UnicodeEncodeError" not in err, err[-3000:]
    return out, err


@pytest.fixture(scope="module")
def sandbox(request):
    with module_sandbox(request.config, bucket="zorora-e2e-encoding") as sb:
        yield sb


@pytest.mark.slow
@pytest.mark.parametrize("extra, encoding", ENCODINGS)
def test_demo_preflight_prints_the_whole_report(extra, encoding, tmp_path):
    done = run_bytes("demo", "--preflight-only", env={**env_for(extra), "ZORORA_E2E_HISTORY": "0"})
    out, _err = assert_clean(done, encoding)
    assert done.returncode == 0, out
    for step in ("0.1", "0.2", "0.3", "0.4", "0.5"):
        assert f"+ {step}  " in out, out  # ✓ written as +
    assert "Preflight passed" in out and "5/5" in out, out
    assert "Zorora <-> ONA platform" in out


@pytest.mark.slow
def test_full_demo_with_a_failing_step_prints_everything_in_ascii(tmp_path):
    report = tmp_path / "r.json"
    done = run_bytes(
        "demo",
        "--fault",
        "no-audit",
        "--json",
        str(report),
        env={**env_for({"PYTHONIOENCODING": "ascii"}), "ZORORA_E2E_HISTORY": "0"},
    )
    out, _err = assert_clean(done, "ascii")
    assert done.returncode == 1, out
    steps = json.loads(report.read_text())["steps"]
    symbol = {PASS: "+", FAIL: "x", WARN: "!", SKIP: "-"}
    for step in steps:  # every step the report holds has its line, with its ASCII symbol (skipped steps share one)
        if step["status"] == SKIP:
            assert re.search(rf"^  - [\d., ]*\b{re.escape(step['id'])}\b", out, re.M), (step["id"], out)
        else:
            assert f"{symbol[step['status']]} {step['id']}" in out, (step["id"], out)
    assert any(s["status"] == SKIP for s in steps)  # 3.1 failed: 3.2 and 3.3 are skipped, on one line
    assert any(s["status"] == FAIL for s in steps)
    assert "Phase 5" in out and "failed" in out.lower()


def _history_file(tmp_path):
    path = tmp_path / "history.jsonl"
    lines = []
    for n in range(12):
        lines.append(
            json.dumps(
                {
                    "v": 1,
                    "started": f"2026-01-0{1 + n % 9}T10:00:0{n % 10}Z",
                    "target": "sandbox",
                    "client": "direct",
                    "kind": "preflight" if n % 2 else "full",
                    "phases": [0],
                    "verdict": "passed" if n % 3 else "failed",
                    "duration_s": 0.2 + n / 10,
                    "phase_s": {"0": 0.1},
                    "routes": {},
                    "cold_start": n == 5,
                    "first_request_s": 3.5 if n == 5 else None,
                    "json_report": None,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("extra, encoding", ENCODINGS)
def test_history_prints_in_any_encoding(extra, encoding, tmp_path):
    path = _history_file(tmp_path)
    done = run_bytes("history", env={**env_for(extra), "ZORORA_E2E_HISTORY": str(path)})
    out, _err = assert_clean(done, encoding)
    assert done.returncode == 0, out
    assert "sandbox" in out and "12 run(s)" in out, out
    assert "2026-01-09 10:00:08" in out  # the table of runs is there


@pytest.mark.slow
@pytest.mark.parametrize("extra, encoding", ENCODINGS)
def test_sandbox_run_and_sweep_print_in_any_encoding(extra, encoding, sandbox, tmp_path):
    env = env_for(extra)
    served = subprocess.Popen(
        [SCRIPT, "sandbox", "--log-requests"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        exports = {}
        while "ONA_API_BASE_URL" not in exports or "AWS_SECRET_ACCESS_KEY" not in exports:
            line = served.stdout.readline().decode(encoding)
            assert line, served.stderr.read().decode(encoding)
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value.strip("'")
        done = run_bytes("run", "--preflight-only", "--yes", env={**env, **exports, "ZORORA_E2E_HISTORY": "0"})
        out, _err = assert_clean(done, encoding)
        assert done.returncode == 0, out
        assert "+ 0.5" in out and "Preflight passed" in out, out
    finally:
        served.send_signal(signal.SIGINT)
        rest, err = served.communicate(timeout=30)
    assert "Traceback" not in err.decode(encoding), err.decode(encoding)
    assert "GET" in rest.decode(encoding)  # the request log lines, in the stream's encoding

    leftover = customer("enc")
    put(sandbox, f"audit_logs/{leftover}/events.json")
    done = run_bytes("sweep", "--customer-id", leftover, "--older-than", "0s", "--yes", env={**env, **sandbox.env()})
    out, _err = assert_clean(done, encoding)
    assert done.returncode == 0, out
    assert "Deleted 1 object(s)" in out and leftover in out, out


@pytest.mark.parametrize("extra, encoding", ENCODINGS)
def test_help_and_settings_errors_in_any_encoding(extra, encoding):
    env = env_for(extra)
    for args in (["--help"], ["demo", "--help"], ["sandbox", "--help"], ["history", "--help"]):
        done = run_bytes(*args, env=env)
        out, _err = assert_clean(done, encoding)
        assert done.returncode == 0 and "usage:" in out, (args, out)
    done = run_bytes(
        "run", "--timeout", "-3", env={**env, "ONA_API_BASE_URL": "https://x.invalid/prod/api/v1", "ONA_API_TOKEN": "t"}
    )
    _out, err = assert_clean(done, encoding)
    assert done.returncode == 2 and "positive" in err
