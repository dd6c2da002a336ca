"""A REPL process in a pseudo-terminal, typed into and read back (pexpect): the stand-in host's
REPL always; the real Zorora `main.py` when ZORORA_SRC (checkout) and ZORORA_PYTHON (an interpreter
with Zorora's requirements and this package installed) are set and a loopback-only network
namespace can be made (`unshare -n`): the real REPL starts threads that call outside hosts.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from helpers.engine import STEPS
from helpers.terminal import (
    PROMPT,
    ZORORA_PYTHON,
    ZORORA_SRC,
    Log,
    alive,
    can_isolate,
    finish,
    our_tracebacks,
    reap,
    sandbox_env,
    screen,
    spawn_isolated,
    spawn_standin,
)
from standin.harness import subprocess_env, zorora_config_dir, zorora_host_env

pexpect = pytest.importorskip("pexpect")


@pytest.mark.slow
def test_standin_repl_in_a_terminal(tmp_path):
    child = spawn_standin(tmp_path, ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1", ONA_API_TOKEN="x")
    child.expect("Registered remote command: ml-validate-e2e")
    child.expect_exact(PROMPT)

    child.sendline("ml-validate-e2e --sandbox")
    child.expect(rf"E2E validation passed: {STEPS}/{STEPS} steps in [^;]+; nothing left in S3\.")
    child.expect_exact(PROMPT)
    shown = screen(child)
    for phase in range(6):
        assert f"Phase {phase} ·" in shown
    assert "\x1b[32m" in child.logfile_read.getvalue()  # coloured on a terminal

    started = time.monotonic()
    child.sendline("ml-validate-e2e --preflight-only --sandbox")
    child.expect(r"Preflight passed: 5/5 steps")
    child.expect_exact(PROMPT)
    print(f"preflight --sandbox, typed to prompt: {time.monotonic() - started:.2f}s")

    child.sendline("ml-validate-e2e --bogus")
    child.expect(r"Error: unknown flag --bogus; ml-validate-e2e --help lists the flags")  # one line, as Zorora's
    child.expect_exact(PROMPT)
    assert our_tracebacks(screen(child)) == [] and "Unknown command" not in screen(child)
    finish(child)


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_cleans_up_and_keeps_the_repl(tmp_path):
    from zorora_e2e_plugin.sandbox import Sandbox

    with Sandbox(faults=["latency:120"]) as sandbox:  # slow enough to interrupt mid-run
        child = spawn_standin(tmp_path, **sandbox_env(sandbox))
        child.expect_exact(PROMPT)
        child.sendline("ml-validate-e2e")
        child.expect(r"Phase 2 ·")
        child.sendintr()
        child.expect(r"interrupted", timeout=120)
        child.expect(r"nothing left in S3", timeout=60)
        child.expect_exact(PROMPT)
        child.sendline("ml-validate-e2e --bogus")
        child.expect("Error: unknown flag --bogus")
        child.expect_exact(PROMPT)
        finish(child)
        prefixes = (
            "customer_tailored/zorora-e2e-test-",
            "model_metrics/zorora-e2e-test-",
            "audit_logs/zorora-e2e-test-",
        )
        left = [
            o["Key"]
            for o in sandbox.s3_client().list_objects_v2(Bucket=sandbox.bucket).get("Contents", [])
            if o["Key"].startswith(prefixes)
        ]
        assert left == []


@pytest.mark.slow
def test_confirmation_in_a_terminal(tmp_path):
    from zorora_e2e_plugin.sandbox import Sandbox

    name = socket.gethostname()
    try:
        local = "127.0.0.1" in {i[4][0] for i in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        local = False
    if not local:
        pytest.skip("host name does not resolve to 127.0.0.1")
    with Sandbox() as sandbox:
        parts = urlsplit(sandbox.api_url)
        url = urlunsplit((parts.scheme, f"{name}:{parts.port}", parts.path, "", ""))
        child = spawn_standin(tmp_path, **sandbox_env(sandbox, url))
        child.expect_exact(PROMPT)
        child.sendline("ml-validate-e2e")
        child.expect(r"Proceed\? \[y/N\]")
        child.send("no\r")  # a line, like Zorora's own questions: nothing of it is left for the REPL
        child.expect(r"Cancelled: nothing was written")
        child.expect_exact(PROMPT)
        child.sendline("ml-validate-e2e")  # were the `o` of `no` left, this would read `oml-validate-e2e`
        child.expect(r"Proceed\? \[y/N\]")
        child.send("yes\r")
        child.expect(r"E2E validation passed", timeout=120)
        child.expect_exact(PROMPT)
        child.sendline("ml-validate-e2e --bogus")
        child.expect("Error: unknown flag --bogus")
        child.expect_exact(PROMPT)
        assert "Unknown" not in screen(child)
        finish(child)


# ------------------------------------------------------------------------------- the real Zorora


@pytest.mark.slow
@pytest.mark.real_zorora
@pytest.mark.skipif(not (ZORORA_SRC and ZORORA_PYTHON), reason="set ZORORA_SRC and ZORORA_PYTHON for the real REPL")
def test_real_zorora_main_in_a_terminal(tmp_path):
    if not can_isolate():
        pytest.skip("cannot make a loopback-only network namespace (unshare -n)")
    src = Path(ZORORA_SRC)
    config_dir = zorora_config_dir(src, tmp_path / "config", ZORORA_PYTHON)  # outside the checkout
    home = tmp_path / "home"
    home.mkdir()
    env = zorora_host_env(
        TERM="xterm-256color",
        HOME=str(home),
        PYTHONPATH=str(config_dir),
        ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1",
        ONA_API_TOKEN="offline",
    )
    inner = f"ip link set lo up && cd {src} && exec {ZORORA_PYTHON} main.py"
    child = spawn_isolated(inner, env)
    try:
        _drive_real_zorora(child)
    finally:
        reap(child)


def _drive_real_zorora(child):
    child.expect("Registered remote command: ml-validate-e2e")  # zero touch: main.py is unmodified
    prompt = r"\[\d+\] ⚙ >"
    child.expect(prompt)

    started = time.monotonic()
    child.send("ml-validate-e2e --preflight-only --sandbox\r")
    child.expect(r"Preflight passed: 5/5 steps in (\d+(?:\.\d+)?) ?(ms|s)")
    preflight = time.monotonic() - started
    child.expect(prompt)
    assert screen(child).count("Preflight passed") == 1  # the verdict once: the command returns ""

    child.send("ml-validate-e2e --help\r")
    child.expect(r"ml-validate-e2e --sweep --dry-run")  # the end of the help
    child.expect(prompt)
    assert screen(child).count("usage: ml-validate-e2e") == 1 and "help shown above" not in screen(child)

    child.send("ml-validate-e2e --sandbox\r")
    child.expect(rf"E2E validation passed: {STEPS}/{STEPS} steps in [^;]+; nothing left in S3\.", timeout=300)
    child.expect(prompt)
    shown = screen(child)
    for phase in range(6):
        assert f"Phase {phase} ·" in shown

    child.send("ml-validate-e2e --bogus\r")
    child.expect("Error: unknown flag --bogus")
    child.expect(prompt)
    assert our_tracebacks(screen(child)) == [] and "Unknown command: ml-validate" not in screen(child)
    child.send("exit\r")
    child.expect(pexpect.EOF, timeout=60)
    print(f"real REPL: preflight --sandbox typed to verdict {preflight:.2f}s")


@pytest.mark.slow
@pytest.mark.real_zorora
@pytest.mark.skipif(not (ZORORA_SRC and ZORORA_PYTHON), reason="set ZORORA_SRC and ZORORA_PYTHON for the real REPL")
def test_real_zorora_confirms_before_writing_and_survives_ctrl_c(tmp_path):
    """A deployment that is not 'local' (the sandbox under this machine's host name, served by a
    separate process in the same namespace, with latency so that Ctrl-C lands mid-run)."""
    if not can_isolate():
        pytest.skip("cannot make a loopback-only network namespace (unshare -n)")
    name = socket.gethostname()
    try:
        if "127.0.0.1" not in {i[4][0] for i in socket.getaddrinfo(name, None, socket.AF_INET)}:
            pytest.skip("host name does not resolve to 127.0.0.1")
    except OSError:
        pytest.skip("host name does not resolve")
    src = Path(ZORORA_SRC)
    config_dir = zorora_config_dir(src, tmp_path / "config", ZORORA_PYTHON)
    home = tmp_path / "home"
    home.mkdir()
    env_file = tmp_path / "sandbox.env"
    pid_file = tmp_path / "sandbox.pid"
    inner = f"""
ip link set lo up
trap 'true' INT
setsid {ZORORA_PYTHON} -u -m zorora_e2e_plugin.cli sandbox --fault latency:150 > {env_file} 2>/dev/null &
# (its own session: no Ctrl-C reaches it)
SANDBOX=$!
echo $SANDBOX > {pid_file}
trap 'kill $SANDBOX 2>/dev/null' EXIT HUP TERM
for i in $(seq 200); do grep -q AWS_SECRET_ACCESS_KEY {env_file} && break; sleep 0.1; done
. {env_file}
ONA_API_BASE_URL=$(echo "$ONA_API_BASE_URL" | sed "s#//127.0.0.1:#//{name}:#")
export ONA_API_BASE_URL
cd {src} && {ZORORA_PYTHON} main.py
kill $SANDBOX; wait $SANDBOX
"""
    env = zorora_host_env(TERM="xterm-256color", HOME=str(home), PYTHONPATH=str(config_dir))
    child = spawn_isolated(inner, env)
    try:
        _confirm_and_interrupt(child, name)
    finally:
        reap(child, pid_file)


def _confirm_and_interrupt(child, name):
    prompt = r"\[\d+\] ⚙ >"
    child.expect("Registered remote command: ml-validate-e2e")
    child.expect(prompt)

    child.send("ml-validate-e2e\r")
    child.expect(r"Proceed\? \[y/N\]")
    child.send("no\r")  # a line: had a single key answered, Zorora would now web-search "o"
    child.expect(r"Cancelled: nothing was written")
    child.expect(prompt)
    assert f"http://{name}:" in screen(child) and "promote and rollback" in " ".join(screen(child).split())
    assert screen(child).lower().count("nothing was written") == 1  # once, not again as the return value

    child.send("ml-validate-e2e\r")  # were anything of `no` left in the input, this would not be our command
    child.expect(r"Proceed\? \[y/N\]")
    child.send("yes\r")
    child.expect(r"Phase 2 ·", timeout=180)
    child.sendintr()
    child.expect(r"E2E validation interrupted", timeout=180)
    child.expect(r"nothing left in S3", timeout=60)
    child.expect(prompt)
    child.send("ml-validate-e2e --bogus\r")  # the REPL is still there
    child.expect("Error: unknown flag --bogus")
    child.expect(prompt)
    child.send("exit\r")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert our_tracebacks(screen(child)) == []


@pytest.mark.slow
def test_a_failing_terminal_test_leaves_no_sandbox_behind(tmp_path):
    """The real-Zorora terminal test starts `zorora-e2e sandbox` in a session of its own (so that Ctrl-C typed
    into the REPL does not reach it). When the test fails mid-way (here: a prompt that never comes), closing
    the terminal does not reach that session either: reap() must end it."""
    env_file, pid_file = tmp_path / "sandbox.env", tmp_path / "sandbox.pid"
    script = f"""
setsid {sys.executable} -u -m zorora_e2e_plugin.cli sandbox > {env_file} 2>/dev/null &
SANDBOX=$!
echo $SANDBOX > {pid_file}
for i in $(seq 300); do grep -q AWS_SECRET_ACCESS_KEY {env_file} && break; sleep 0.1; done
echo sandbox-ready
sleep 600
"""
    isolate = can_isolate()
    child = (
        spawn_isolated("ip link set lo up\n" + script, subprocess_env())
        if isolate
        else pexpect.spawn("sh", ["-c", script], env=subprocess_env(), encoding="utf-8", timeout=120)
    )
    if not isolate:
        child.logfile_read = Log()
    sandbox_pid = None
    try:
        child.expect("sandbox-ready", timeout=120)
        sandbox_pid = int(pid_file.read_text())
        assert alive(sandbox_pid)
        with pytest.raises(pexpect.TIMEOUT):  # the failure
            child.expect("a prompt that never comes", timeout=1)
    finally:
        reap(child, pid_file)
    assert sandbox_pid is not None and not alive(sandbox_pid)
