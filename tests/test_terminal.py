"""A REPL process in a pseudo-terminal, typed into and read back (pexpect): the stand-in host's
REPL always; the real Zorora `main.py` when ZORORA_SRC (checkout) and ZORORA_PYTHON (an interpreter
with Zorora's requirements and this package installed) are set and a loopback-only network
namespace can be made (`unshare -n`): the real REPL starts threads that call outside hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from engine_helpers import STEPS
from standin.harness import REPO_ROOT, STANDIN_DIR, subprocess_env, zorora_config_dir, zorora_host_env

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PROMPT = "zorora> "
PTH = REPO_ROOT / "zorora_e2e_plugin" / "_autoload" / "zorora_e2e_autoload.pth"


def screen(child) -> str:
    return ANSI.sub("", child.logfile_read.getvalue())


def our_tracebacks(shown: str) -> list:
    """Tracebacks on the screen that pass through this plugin's code. Zorora's own background threads
    (its regulatory and newsroom refreshes) print theirs when the network namespace has no way out: the
    host's, not ours."""
    blocks = shown.split("Traceback (most recent call last)")[1:]
    return [block[:3000] for block in blocks if "zorora_e2e_plugin" in block[:3000]]


class Log:
    """Collects what the terminal showed (pexpect's logfile_read); also copied to the file named by
    ZORORA_E2E_TERMINAL_LOG, if set, for a look at a failing run."""

    def __init__(self):
        self.parts = []
        path = os.environ.get("ZORORA_E2E_TERMINAL_LOG")
        self.copy = open(path, "a", encoding="utf-8") if path else None

    def write(self, data):
        self.parts.append(data)
        if self.copy:
            self.copy.write(data)
            self.copy.flush()

    def flush(self):
        pass

    def getvalue(self):
        return "".join(self.parts)


def _installed() -> bool:
    return any((Path(sysconfig.get_paths()[k]) / PTH.name).exists() for k in ("purelib", "platlib"))


def spawn_standin(tmp_path, **env):
    """Start the stand-in REPL as a user starts Zorora. With the package installed that is all;
    otherwise the repository's .pth is processed from a scratch site dir first."""
    args = [str(STANDIN_DIR / "standin_repl.py")]
    if not _installed():
        site_dir = tmp_path / "site"
        site_dir.mkdir(exist_ok=True)
        shutil.copy(PTH, site_dir / PTH.name)
        args = ["-c", f"import site, runpy, sys; site.addsitedir({str(site_dir)!r}); "
                      f"sys.path.insert(0, {str(STANDIN_DIR)!r}); "
                      f"runpy.run_path({args[0]!r}, run_name='__main__')"]
    environment = subprocess_env(TERM="xterm-256color", COLUMNS="140", LINES="50", **env)
    child = pexpect.spawn(sys.executable, args, env=environment, cwd=str(tmp_path), encoding="utf-8",
                          timeout=60, dimensions=(50, 140))
    child.logfile_read = Log()
    return child


def sandbox_env(sandbox, url=None):
    env = dict(sandbox.env())
    if url:
        env["ONA_API_BASE_URL"] = url
    return env


def finish(child):
    child.sendline("exit")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0, screen(child)


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
        prefixes = ("customer_tailored/zorora-e2e-test-", "model_metrics/zorora-e2e-test-", "audit_logs/zorora-e2e-test-")
        left = [o["Key"] for o in sandbox.s3_client().list_objects_v2(Bucket=sandbox.bucket).get("Contents", [])
                if o["Key"].startswith(prefixes)]
        assert left == []


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

ZORORA_SRC = os.environ.get("ZORORA_SRC")
ZORORA_PYTHON = os.environ.get("ZORORA_PYTHON")


def _can_isolate() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not (ZORORA_SRC and ZORORA_PYTHON), reason="set ZORORA_SRC and ZORORA_PYTHON for the real REPL")
def test_real_zorora_main_in_a_terminal(tmp_path):
    if not _can_isolate():
        pytest.skip("cannot make a loopback-only network namespace (unshare -n)")
    src = Path(ZORORA_SRC)
    config_dir = zorora_config_dir(src, tmp_path / "config", ZORORA_PYTHON)  # outside the checkout
    home = tmp_path / "home"
    home.mkdir()
    env = zorora_host_env(TERM="xterm-256color", HOME=str(home), PYTHONPATH=str(config_dir),
                          ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1", ONA_API_TOKEN="offline")
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


def spawn_isolated(script: str, env) -> "pexpect.spawn":
    """`sh -c script` in a loopback-only network namespace, in a pseudo-terminal of its own."""
    child = pexpect.spawn("unshare", ["-n", "sh", "-c", script], env=env, encoding="utf-8", timeout=120,
                          dimensions=(50, 160))
    child.logfile_read = Log()
    return child


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def reap(child, pid_file: "Path | None" = None) -> None:
    """However the test ended: the sandbox process it started (its pid in `pid_file`), then the terminal's
    whole process group. A failing test must not leave a `zorora-e2e sandbox` behind."""
    import signal

    pids = []
    if pid_file is not None and pid_file.exists():
        pids = [int(p) for p in pid_file.read_text().split() if p.isdigit()]
    for pid in pids:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not _alive(pid):
                break
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
    if child.isalive():
        try:
            os.killpg(child.pid, signal.SIGKILL)  # pexpect made the child a session (and group) leader
        except ProcessLookupError:
            pass
    child.close(force=True)
    left = [pid for pid in pids if _alive(pid)]
    assert left == [], f"sandbox process(es) {left} survived the test"


@pytest.mark.skipif(not (ZORORA_SRC and ZORORA_PYTHON), reason="set ZORORA_SRC and ZORORA_PYTHON for the real REPL")
def test_real_zorora_confirms_before_writing_and_survives_ctrl_c(tmp_path):
    """A deployment that is not 'local' (the sandbox under this machine's host name, served by a
    separate process in the same namespace, with latency so that Ctrl-C lands mid-run)."""
    if not _can_isolate():
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
setsid {ZORORA_PYTHON} -u -m zorora_e2e_plugin.cli sandbox --fault latency:150 > {env_file} 2>/dev/null &  # own session: no Ctrl-C
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
    isolate = _can_isolate()
    child = spawn_isolated("ip link set lo up\n" + script, subprocess_env()) if isolate else \
        pexpect.spawn("sh", ["-c", script], env=subprocess_env(), encoding="utf-8", timeout=120)
    if not isolate:
        child.logfile_read = Log()
    sandbox_pid = None
    try:
        child.expect("sandbox-ready", timeout=120)
        sandbox_pid = int(pid_file.read_text())
        assert _alive(sandbox_pid)
        with pytest.raises(pexpect.TIMEOUT):  # the failure
            child.expect("a prompt that never comes", timeout=1)
    finally:
        reap(child, pid_file)
    assert sandbox_pid is not None and not _alive(sandbox_pid)
