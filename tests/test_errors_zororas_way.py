"""Mistakes answered as Zorora answers its own (issue 30 item 4): in the REPL one red `Error: ...` line naming the
flag and the closest one, and where the flags are (`ml-validate-e2e --help`); in the CLI a command-line tool's
conventions (its usage, then the error, exit 2). `--for` is a preflight's question (it implies --preflight-only);
`--preflight-only --phase 3` is refused, not silently read as a preflight; a fault that does not exist is refused
before a sandbox starts; the help shows `--for CUSTOMER [CHALLENGER_ID]`, wraps its introduction at the console's
width, and in the REPL names no exit code.
"""

from __future__ import annotations

import sys

import pytest
from helpers.cli import cli
from helpers.repl import run_shown
from standin.harness import REPO_ROOT, subprocess_env

import zorora_e2e_plugin
from zorora_e2e_plugin.repl import invocation as repl_run

DEAD_URL = "http://127.0.0.1:9/prod/api/v1"


@pytest.fixture
def repl(host, monkeypatch):
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    monkeypatch.delenv("TEST_CUSTOMER_ID", raising=False)
    repl = host.repl(console=host.console(width=100))
    zorora_e2e_plugin.register(repl)
    return repl


@pytest.mark.parametrize(
    "line, said",
    [
        ("ml-validate-e2e --phaes 3", "Error: unknown flag --phaes (did you mean --phase?)"),
        ("ml-validate-e2e --sandbx", "Error: unknown flag --sandbx (did you mean --sandbox?)"),
        ("ml-validate-e2e sandbox", "Error: unexpected argument 'sandbox' (did you mean --sandbox?)"),
        (
            "ml-validate-e2e --preflight-only --phase 3",
            "Error: --preflight-only runs phase 0 alone: it does not combine with --phase 3",
        ),
    ],
)
def test_a_mistake_in_the_repl_is_one_red_line_naming_the_flag(host, monkeypatch, line, said):
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    repl = host.repl(console=host.console(width=400, color=True))  # one line at any width: no wrapping here
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, line)
    lines = [row for row in shown.splitlines() if row.strip()]
    assert len(lines) == 1 and verdict.startswith(said) and verdict.endswith("ml-validate-e2e --help lists the flags")
    assert lines[0] == f"\x1b[31m{verdict}\x1b[0m", shown  # red, as Zorora's own `Error: ...`
    assert "usage:" not in shown and "not run" not in shown and "Phase 0" not in shown


def test_for_implies_preflight_only(host, target_env):
    seeded = target_env.seed_customer("acme-implied")
    repl = host.repl()  # its ml-* commands point at the sandbox
    zorora_e2e_plugin.register(repl)
    verdict, shown = run_shown(repl, f"ml-validate-e2e --for {seeded.customer_id}")
    assert verdict.startswith(f"✓ ready: ml-promote {seeded.customer_id} {seeded.challenger_id}"), shown
    assert "(preflight only)" in shown and "Phase 1" not in shown and "setting is missing" not in shown


def test_an_unknown_fault_is_refused_before_a_sandbox_starts(repl):
    verdict, shown = run_shown(repl, "ml-validate-e2e --sandbox --fault nosuch")
    assert verdict.startswith("Error: --fault: unknown fault 'nosuch'") and "stage-prefix" in verdict
    assert repl_run.STARTING_SANDBOX not in shown and len([r for r in shown.splitlines() if r.strip()]) <= 3


def test_the_repl_help_wraps_at_the_console_and_names_no_exit_code(host, monkeypatch):
    monkeypatch.setenv("ONA_API_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ONA_API_TOKEN", "not-used")
    for width in (80, 120):
        repl = host.repl(console=host.console(width=width))
        zorora_e2e_plugin.register(repl)
        _verdict, shown = run_shown(repl, "ml-validate-e2e --help")
        assert "--for CUSTOMER [CHALLENGER_ID]" in shown and "CHALLENGER_ID ...]" not in shown
        assert "Exit 0" not in shown and "exit code" not in shown.lower()  # nothing a REPL has
        rows = shown.splitlines()
        assert max(len(r) for r in rows) <= width, "\n".join(r for r in rows if len(r) > width)
        intro = rows[rows.index("") + 1]  # the introduction's first line: as wide as the options, not 80
        assert len(intro) > width - 20, intro


def test_the_cli_keeps_a_command_line_tools_conventions():
    done = cli("run", "--phaes", "3")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: zorora-e2e run") and done.stderr.rstrip().endswith(
        "zorora-e2e run: error: unknown flag --phaes (did you mean --phase?)"
    )
    done = cli("run", "--preflight-only", "--phase", "3")
    assert done.returncode == 2 and "--preflight-only runs phase 0 alone" in done.stderr


def test_the_cli_refuses_an_unknown_fault_before_the_sandbox_starts():
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "zorora_e2e_plugin.cli", "demo", "--fault", "nosuch"],
        env=subprocess_env(TERM="xterm-256color"),
        cwd=str(REPO_ROOT),
        encoding="utf-8",
        timeout=60,
        dimensions=(30, 100),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2 and "unknown fault 'nosuch'" in child.before
    assert "starting a local sandbox" not in child.before  # on a terminal it says so at once, before it starts
