"""The walkthrough as a person sees it: the program runs in a pseudo-terminal of 80 columns and everything it
writes goes through a terminal emulator (pyte); at each pause the test reads the emulated screen, not the
byte stream. The prompt must be the last thing on screen, on the cursor's row, and a key typed at it must
show there (echoed by the terminal, not erased by a redraw). Both faces: `zorora-e2e demo --walkthrough`,
and `ml-validate-e2e --sandbox --walkthrough` in the stand-in REPL.
"""

from __future__ import annotations

import sys
import time

import pytest
from standin.harness import REPO_ROOT, subprocess_env

from zorora_e2e_plugin.core.outcomes import SKIP

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

COLUMNS, ROWS = 80, 30
PROMPTS = ("[Enter] run this phase · q stop", "[Enter] run cleanup (it always runs)")


class Terminal:
    """A pexpect child whose output is fed to a pyte screen as it arrives."""

    def __init__(self, child):
        self.child = child
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.seen = ""

    def pump(self, seconds: float) -> None:
        """Read whatever the program writes for `seconds` (the live line's ticker redraws every 0.1 s)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return
            self.seen += data
            self.stream.feed(data)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        """Until `text` has been written (then the screen is read, not the stream)."""
        end = time.monotonic() + timeout
        while text not in self.seen:
            assert time.monotonic() < end, f"never saw {text!r}; screen:\n{self.text()}"
            self.pump(0.1)

    def rows(self):
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.rows())

    def cursor_row(self) -> str:
        return self.rows()[self.screen.cursor.y]

    def last_row(self) -> str:
        rows = [r for r in self.rows() if r.strip()]
        return rows[-1] if rows else ""


def check_pause(term: Terminal, phase: int) -> None:
    term.wait_for(f"Next: phase {phase} ·")
    term.pump(0.8)  # the pause has begun: several ticks of any live line would have run
    prompt = PROMPTS[1] if phase == 5 else PROMPTS[0]
    assert term.cursor_row().startswith(prompt), f"phase {phase}: cursor row {term.cursor_row()!r}\n{term.text()}"
    assert term.last_row().startswith(prompt), f"phase {phase}: last row {term.last_row()!r}\n{term.text()}"
    term.child.send("ok")  # anything but q goes on
    term.pump(0.6)
    assert term.cursor_row().rstrip().endswith(f"{prompt} ok"), (
        f"phase {phase}: typed keys not on screen: {term.cursor_row()!r}\n{term.text()}"
    )
    term.child.send("\r")


@pytest.mark.slow
def test_cli_walkthrough_prompt_stays_on_screen_at_every_pause():
    child = pexpect.spawn(
        sys.executable,
        ["-m", "zorora_e2e_plugin.cli", "demo", "--walkthrough"],
        env=subprocess_env(TERM="xterm-256color", ZORORA_E2E_HISTORY="0", COLUMNS=str(COLUMNS), LINES=str(ROWS)),
        cwd=str(REPO_ROOT),
        encoding="utf-8",
        timeout=90,
        dimensions=(ROWS, COLUMNS),
    )
    term = Terminal(child)
    try:
        for phase in range(6):
            check_pause(term, phase)
        term.wait_for("E2E validation passed")
    finally:
        child.close(force=True)


@pytest.mark.slow
def test_repl_walkthrough_prompt_stays_on_screen_at_every_pause(tmp_path):
    from helpers.terminal import PROMPT, spawn_standin

    child = spawn_standin(
        tmp_path, ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1", ONA_API_TOKEN="x", ZORORA_E2E_HISTORY="0"
    )
    child.setwinsize(ROWS, COLUMNS)
    term = Terminal(child)
    try:
        term.wait_for(PROMPT)
        term.pump(0.3)
        child.send("ml-validate-e2e --sandbox --walkthrough\r")
        for phase in range(6):
            check_pause(term, phase)
        term.wait_for("E2E validation passed")
        term.wait_for(PROMPT)
    finally:
        child.close(force=True)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["q", "ctrl-c"])
def test_stopping_at_the_first_pause_says_so_in_one_line(tmp_path, how):
    """Nothing ran: one line says so (nothing written, nothing to clean up); no skipped-step lines, no table, no
    'cleanup ran'. The --json report still lists every step."""
    import json

    report = tmp_path / "r.json"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "zorora_e2e_plugin.cli", "demo", "--walkthrough", "--json", str(report)],
        env=subprocess_env(TERM="xterm-256color", ZORORA_E2E_HISTORY="0", COLUMNS=str(COLUMNS), LINES=str(ROWS)),
        cwd=str(REPO_ROOT),
        encoding="utf-8",
        timeout=90,
        dimensions=(ROWS, COLUMNS),
    )
    term = Terminal(child)
    try:
        term.wait_for("Next: phase 0 ·")
        term.pump(0.3)
        if how == "q":
            child.send("q\r")
        else:
            child.sendintr()
        child.expect(pexpect.EOF)
        term.stream.feed(child.before or "")
        child.close()
    finally:
        child.close(force=True)
    after = term.text().split("[Enter] run this phase · q stop", 1)[1]
    lines = [line for line in after.splitlines() if line.strip() and line.strip() not in ("q", "^C")]
    assert lines[0].startswith("⚠ Stopped before anything ran: nothing was written, nothing to clean up."), after
    assert "⏭" not in after and "Phase 0 ·" not in after and "cleanup ran" not in after and "passed" not in after
    assert " ".join(lines[1:]) == f"--json report written to {report}", after  # (wrapped at 80 columns)
    assert child.exitstatus == 130
    steps = json.loads(report.read_text())["steps"]
    from zorora_e2e_plugin.plan import phases

    assert sorted(s["id"] for s in steps) == sorted(step.id for p in phases() for wave in p.waves for step in wave)
    assert {s["status"] for s in steps} == {SKIP}


@pytest.mark.slow
@pytest.mark.real_zorora
def test_real_zorora_walkthrough_prompt_stays_on_screen_at_every_pause(tmp_path):
    """The same, in the real Zorora `main.py` (ZORORA_SRC, ZORORA_PYTHON), in a loopback-only namespace."""
    from pathlib import Path

    import helpers.terminal as tt
    from standin.harness import zorora_config_dir, zorora_host_env

    if not (tt.ZORORA_SRC and tt.ZORORA_PYTHON):
        pytest.skip("set ZORORA_SRC and ZORORA_PYTHON for the real REPL")
    if not tt.can_isolate():
        pytest.skip("cannot make a loopback-only network namespace (unshare -n)")
    src = Path(tt.ZORORA_SRC)
    config_dir = zorora_config_dir(src, tmp_path / "config", tt.ZORORA_PYTHON)
    home = tmp_path / "home"
    home.mkdir()
    env = zorora_host_env(
        TERM="xterm-256color",
        HOME=str(home),
        PYTHONPATH=str(config_dir),
        ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1",
        ONA_API_TOKEN="offline",
    )
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    child = tt.spawn_isolated(f"ip link set lo up && cd {src} && exec {tt.ZORORA_PYTHON} main.py", env)
    child.setwinsize(ROWS, COLUMNS)
    term = Terminal(child)
    try:
        term.wait_for("Registered remote command: ml-validate-e2e", timeout=180)
        term.wait_for("⚙ >", timeout=180)
        term.pump(2.0)
        child.send("ml-validate-e2e --sandbox --walkthrough\r")
        for phase in range(6):
            check_pause(term, phase)
        term.wait_for("E2E validation passed", timeout=180)
        child.send("exit\r")
        term.pump(2.0)
    finally:
        tt.reap(child)
