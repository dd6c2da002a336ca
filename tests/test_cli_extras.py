"""Small things a person at the command line meets: `zorora-e2e --version`; `zorora-e2e sandbox --env-file
PATH` (a file to source instead of export lines to copy: 0600, removed when the sandbox stops); one way to
write a duration in a whole run's output. Real processes, a real sandbox."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from importlib.metadata import version

import pytest
from standin.harness import REPO_ROOT, subprocess_env

CLI = [sys.executable, "-m", "zorora_e2e_plugin.cli"]


def test_version():
    done = subprocess.run(CLI + ["--version"], capture_output=True, text=True, timeout=60, cwd=str(REPO_ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"zorora-e2e {version('zorora-e2e-plugin')}"


def _wait_for(path, proc, timeout=60):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the env file never appeared"
        time.sleep(0.05)


@pytest.mark.slow
def test_sandbox_env_file_is_private_sourceable_and_removed_on_stop(tmp_path):
    env_file = tmp_path / "sandbox.env"
    proc = subprocess.Popen(
        CLI + ["sandbox", "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        cwd=str(REPO_ROOT),
    )
    try:
        _wait_for(env_file, proc)
        time.sleep(0.2)
        mode = os.lstat(env_file).st_mode
        assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o600
        assert not (tmp_path / "elsewhere").exists()
        text = env_file.read_text()
        assert "export ONA_API_BASE_URL=" in text and "export ONA_API_TOKEN=" in text
        # sourced in another shell, it points a run at the sandbox
        run = subprocess.run(
            ["sh", "-c", f". '{env_file}' && exec \"$@\"", "sh", *CLI, "run", "--preflight-only", "--no-color"],
            capture_output=True,
            text=True,
            timeout=120,
            env=subprocess_env(),
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Preflight passed" in run.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"also in {env_file}" in out
    assert not os.path.lexists(env_file)
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left either


def _sandbox_given(env_file, timeout=20):
    """`zorora-e2e sandbox --env-file PATH`, stopped with Ctrl-C if it is still serving after `timeout` seconds."""
    proc = subprocess.Popen(
        CLI + ["sandbox", "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        cwd=str(REPO_ROOT),
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_sandbox_env_file_never_overwrites_or_removes_a_file_it_did_not_create(tmp_path):
    """Issue 29 item 11: an existing PATH (the engineer's own .env) was overwritten, then unlinked when the sandbox
    stopped. It is refused before the sandbox starts, and left exactly as it was; so is a symlink (never followed,
    never replaced)."""
    own = tmp_path / ".env"
    own.write_text("export MY_SETTING=keep-me\n")
    os.chmod(own, 0o640)
    before = os.stat(own)
    code, out, err = _sandbox_given(own)
    assert code == 2, out + err
    assert f"--env-file {own} already exists" in err and "Traceback" not in err, err
    assert "export" not in out  # refused before the sandbox started
    after = os.stat(own)
    assert own.read_text() == "export MY_SETTING=keep-me\n"
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (before.st_ino, before.st_mode, before.st_mtime_ns)
    link = tmp_path / "link.env"
    link.symlink_to(tmp_path / "elsewhere")
    code, out, err = _sandbox_given(link)
    assert code == 2 and "already exists" in err, out + err
    assert os.path.islink(link) and not (tmp_path / "elsewhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "link.env"]  # no temporary file left either


def test_sandbox_env_file_a_killed_sandbox_left_is_named_as_such(tmp_path):
    stale = tmp_path / "ona.env"
    stale.write_text(
        "# zorora-e2e sandbox at http://127.0.0.1:1/prod/api/v1; removed when it stops\nexport ONA_API_TOKEN=old\n"
    )
    code, _out, err = _sandbox_given(stale)
    assert code == 2 and "a sandbox wrote it and was stopped before it could remove it" in err, err
    assert "export ONA_API_TOKEN=old" in stale.read_text()


def test_sandbox_env_file_in_a_missing_folder_is_a_clear_error(tmp_path):
    done = subprocess.run(
        CLI + ["sandbox", "--env-file", str(tmp_path / "no" / "such.env")],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
        cwd=str(REPO_ROOT),
    )
    assert done.returncode == 2
    assert "--env-file" in done.stderr and "cannot write it" in done.stderr and "Traceback" not in done.stderr


def _ignoring_sigint():
    """What `cmd &` in a script gives a job: SIGINT ignored (POSIX), in one process group with the run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setpgid(0, 0)


@pytest.mark.slow
def test_a_sandbox_started_ignoring_sigint_outlives_a_ctrl_c_meant_for_the_run(tmp_path):
    """Issue 29 item 12: a sandbox started with `&` from a script inherits SIGINT ignored, and kept it not: a Ctrl-C
    meant for a run in the same process group stopped it mid-run, the cleanup then failed against nothing. It keeps
    an inherited SIG_IGN (SIGTERM still stops it); the run is interrupted, cleans up, and leaves nothing."""
    env_file = tmp_path / "ona.env"
    sandbox = subprocess.Popen(
        CLI + ["sandbox", "--env-file", str(env_file), "--fault", "latency:150"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        cwd=str(REPO_ROOT),
        preexec_fn=_ignoring_sigint,
    )
    try:
        _wait_for(env_file, sandbox)
        time.sleep(0.2)
        group = os.getpgid(sandbox.pid)
        run = subprocess.Popen(
            ["sh", "-c", f". '{env_file}' && exec \"$@\"", "sh", *CLI, "run", "--no-color", "--client", "direct"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: os.setpgid(0, group),
        )
        shown = []
        for line in run.stdout:
            shown.append(line)
            if line.startswith("Phase 2"):
                os.killpg(group, signal.SIGINT)  # Ctrl-C on the terminal both share
                break
        out = "".join(shown) + run.stdout.read()
        err = run.stderr.read()
        assert run.wait(60) == 130, out + err
        time.sleep(1)
        assert sandbox.poll() is None, "the sandbox stopped on a Ctrl-C it had inherited as ignored\n" + out
        exports = dict(
            line[len("export ") :].split("=", 1)
            for line in env_file.read_text().splitlines()
            if line.startswith("export ")
        )
        answer = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                exports["ONA_API_BASE_URL"] + "/challengers?customer_id=x",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert answer.stdout == "401", answer  # still serving
        assert out.count("Phase 5 · Cleanup") == 1 and "5.2" in out, out
        assert "E2E validation interrupted" in out and "nothing left in S3" in out, out
        assert "Traceback" not in err, err
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.communicate(timeout=60)
    assert sandbox.returncode == 0
    assert not os.path.lexists(env_file)


DURATION = re.compile(r"(?<![\w.:])(\d+(?:\.\d+)?)\s?(ms|s)\b")


@pytest.mark.slow
def test_one_duration_format_in_a_whole_run_and_the_report_path_after_the_summary(tmp_path):
    report = tmp_path / "r.json"
    done = subprocess.run(
        CLI + ["demo", "--no-color", "--fault", "latency:150", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=180,
        env=subprocess_env(ZORORA_E2E_HISTORY="0"),
        cwd=str(REPO_ROOT),
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.rstrip().splitlines()
    assert lines[-1] == f"--json report written to {report}" and lines[-2].startswith("✓ E2E validation passed"), lines[
        -9:
    ]  # after the summary (table, verdict), not in its middle
    found = [m.group(0) for m in DURATION.finditer(done.stdout)]
    assert len(found) > 20, done.stdout  # step lines, the phase table, the verdict
    odd = [f for f in found if not re.fullmatch(r"\d+ ms|\d+\.\d s", f)]
    assert not odd, odd
