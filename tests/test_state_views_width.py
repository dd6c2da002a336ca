"""The state views (--show-state, --walkthrough) at 80 columns: on a terminal (a pseudo-terminal read through
a terminal emulator, pyte) no id is ever split across lines; piped (the CI use) nothing is wrapped at all;
phase 4's "what was refused" table labels every column and says what was sent."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from standin.harness import REPO_ROOT, subprocess_env

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

CLI = [sys.executable, "-m", "zorora_e2e_plugin.cli", "demo", "--show-state"]
STEP_LINE = re.compile(r"^  [✓✗⚠⏭] \d")
IDS = re.compile(r"\{C\}/[\w/.-]+|CUSTOMER-ID|zorora-validation-bot|model_0{8}_0{6}\w*")


def view_lines(text: str):
    """The lines of the state views (from a ◆ title to the next step line or phase header)."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("◆"):
            inside = True
        elif STEP_LINE.match(line) or line.startswith("Phase "):
            inside = False
        if inside:
            out.append(line.rstrip())
    return out


def piped(columns=80):
    done = subprocess.run(
        CLI + ["--no-color"],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        env=subprocess_env(ZORORA_E2E_HISTORY="0", COLUMNS=str(columns)),
        cwd=str(REPO_ROOT),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def on_a_terminal(columns=80, rows=400):
    child = pexpect.spawn(
        CLI[0],
        CLI[1:],
        env=subprocess_env(TERM="xterm-256color", ZORORA_E2E_HISTORY="0"),
        cwd=str(REPO_ROOT),
        encoding="utf-8",
        timeout=180,
        dimensions=(rows, columns),
    )
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    end = time.monotonic() + 180
    while time.monotonic() < end:
        try:
            stream.feed(child.read_nonblocking(65536, timeout=0.2))
        except pexpect.TIMEOUT:
            continue
        except pexpect.EOF:
            break
    child.close()
    assert child.exitstatus == 0
    return "\n".join(line.rstrip() for line in screen.display)


@pytest.mark.slow
def test_piped_state_views_are_never_wrapped():
    text = piped()
    lines = view_lines(text)
    assert any(
        re.fullmatch(r"◆ Registry before → after ml-promote \(step 3\.1; \{C\} = zorora-e2e-test-[\w-]+\)", ln)
        for ln in lines
    ), lines
    assert any(
        re.fullmatch(r"production\s+model_id\s+\{C\}/production/model_\S+ → \{C\}/challenger_\S+", ln) for ln in lines
    ), lines
    assert any(
        re.fullmatch(
            r"\S+Z\s+zorora-validation-bot\s+rollback\s+\{C\}/production/model_\S+\s+"
            r"End-to-end validation test rollback",
            ln,
        )
        for ln in lines
    ), lines
    assert any(ln.startswith("4.6 ") and ln.endswith("expected 'eligible'\"]") for ln in lines), lines
    assert max(len(ln) for ln in lines) > 80  # written whole, not wrapped at COLUMNS


@pytest.mark.slow
def test_on_an_80_column_terminal_no_id_is_split():
    whole = view_lines(piped(columns=400))
    screen = view_lines(on_a_terminal())
    assert screen, "no state views on screen"
    assert all(len(line) <= 80 for line in screen)

    def shapes(lines):  # run-specific stamps differ between the two runs: compare the ids' shapes
        text = re.sub(r"zorora-e2e-test-\d+-[0-9a-f]+", "CUSTOMER-ID", "\n".join(lines))
        text = re.sub(r"\d", "0", text)
        return sorted(IDS.findall(text))

    expected, found = shapes(whole), shapes(screen)
    assert len(expected) >= 10, expected
    assert found == expected, "\n".join(screen)  # every id as often on the screen as written whole


@pytest.mark.slow
def test_what_was_refused_labels_every_column():
    lines = view_lines(piped(columns=400))
    start = lines.index("◆ Phase 4: what was refused")
    header = lines[start + 1]
    assert header.split() == ["step", "sent", "outcome", "answer"], header
    rows = {ln.split()[0]: ln for ln in lines[start + 2 : start + 7]}
    assert re.match(r"4\.2\s+nothing\s+refused\s+rejected: Reason", rows["4.2"]), rows
    assert re.match(r"4\.4\s+POST /rollback \(no token\)\s+refused\s+HTTP 401", rows["4.4"]), rows
    assert "ml-promote unknown challenger is rejected" not in "\n".join(rows.values())  # not step titles
