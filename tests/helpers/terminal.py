"""A REPL, or the CLI, in a pseudo-terminal (pexpect): the stand-in host's REPL, `zorora-e2e` itself, and the real
Zorora `main.py` in a loopback-only network namespace (`unshare -n`) when ZORORA_SRC and ZORORA_PYTHON are set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from standin.harness import REPO_ROOT, STANDIN_DIR, subprocess_env

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
        args = [
            "-c",
            f"import site, runpy, sys; site.addsitedir({str(site_dir)!r}); "
            f"sys.path.insert(0, {str(STANDIN_DIR)!r}); "
            f"runpy.run_path({args[0]!r}, run_name='__main__')",
        ]
    environment = subprocess_env(TERM="xterm-256color", COLUMNS="140", LINES="50", **env)
    child = pexpect.spawn(
        sys.executable, args, env=environment, cwd=str(tmp_path), encoding="utf-8", timeout=60, dimensions=(50, 140)
    )
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


ZORORA_SRC = os.environ.get("ZORORA_SRC")


ZORORA_PYTHON = os.environ.get("ZORORA_PYTHON")


def can_isolate() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def spawn_isolated(script: str, env) -> pexpect.spawn:
    """`sh -c script` in a loopback-only network namespace, in a pseudo-terminal of its own."""
    child = pexpect.spawn(
        "unshare", ["-n", "sh", "-c", script], env=env, encoding="utf-8", timeout=120, dimensions=(50, 160)
    )
    child.logfile_read = Log()
    return child


def alive(pid: int) -> bool:
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


def reap(child, pid_file: Path | None = None) -> None:
    """However the test ended: the sandbox process it started (its pid in `pid_file`), then the terminal's
    whole process group. A failing test must not leave a `zorora-e2e sandbox` behind."""
    import signal

    pids = []
    if pid_file is not None and pid_file.exists():
        pids = [int(p) for p in pid_file.read_text().split() if p.isdigit()]
    for pid in pids:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not alive(pid):
                break
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
    if child.isalive():
        try:
            os.killpg(child.pid, signal.SIGKILL)  # pexpect made the child a session (and group) leader
        except ProcessLookupError:
            pass
    child.close(force=True)
    left = [pid for pid in pids if alive(pid)]
    assert left == [], f"sandbox process(es) {left} survived the test"


PAUSE = "[Enter] run"


CLI = [sys.executable, "-m", "zorora_e2e_plugin.cli"]


def spawn_cli(args, env):
    child = pexpect.spawn(
        CLI[0],
        CLI[1:] + args,
        env=subprocess_env(TERM="xterm-256color", NO_COLOR="1", **env),
        cwd=str(REPO_ROOT),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 140),
    )
    child.logfile_read = CliLog()
    return child


class CliLog(list):
    def write(self, data):
        self.append(data)

    def flush(self):
        pass

    def text(self):
        return ANSI.sub("", "".join(self))
