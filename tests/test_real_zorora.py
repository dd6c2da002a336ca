"""Against a real Zorora checkout (env ZORORA_SRC; skipped when absent): its `zorora` package, its
`register_ona_commands` (with our autoload hook), and its real dispatch from
`engine/repl_command_processor.py`, with the checkout's own `config` (or a copy of its Docker config) and
the environment a user sets (ZORORA_REPL_LEGACY_ENABLED=true: Zorora's shipped config turns its `ml-`
commands off by default). Runs in a fresh process so that the real `zorora` package never meets the
stand-in.

The full REPL (`main.py`) is driven in a terminal by tests/test_terminal.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from standin.harness import STANDIN_DIR, zorora_config_dir, zorora_host_env

ZORORA_SRC = os.environ.get("ZORORA_SRC")

# xdist_group: one worker runs the module, its probe of the real host is made once
pytestmark = [
    pytest.mark.real_zorora,
    pytest.mark.xdist_group("real_zorora_probe"),
    pytest.mark.skipif(
        not ZORORA_SRC or not (Path(ZORORA_SRC) / "zorora" / "commands" / "ona_platform.py").exists(),
        reason="set ZORORA_SRC to a Zorora checkout to run these",
    ),
]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """The checkout set up as its users run it: its own config.py when it has one (else a copy of its
    config.docker.py, as its Docker image does), and the environment the README asks for."""
    config_dir = zorora_config_dir(Path(ZORORA_SRC), tmp_path_factory.mktemp("zorora-config"))
    home = tmp_path_factory.mktemp("zorora-home")
    result = subprocess.run(
        [sys.executable, str(STANDIN_DIR / "real_host_probe.py"), ZORORA_SRC, str(config_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=zorora_host_env(HOME=str(home)),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run(probe, line):
    return next(r for r in probe["runs"] if r["line"] == line)


@pytest.mark.slow
def test_the_hosts_ml_commands_are_enabled(probe):
    assert probe["repl_legacy_enabled"], (
        f"{probe['config_file']}: REPL_LEGACY_ENABLED is off; Zorora's config reads it from ZORORA_REPL_LEGACY_ENABLED"
    )


def test_the_real_modules_were_used(probe):
    src = str(Path(ZORORA_SRC).resolve())
    for key in ("ona_file", "remote_command_file", "processor_file"):
        assert str(Path(probe[key]).resolve()).startswith(src), probe[key]


def test_real_register_ona_commands_registers_ours_too(probe):
    assert probe["wrapped"]
    assert probe["registered"] == [
        "ml-list-challengers",
        "ml-show-metrics",
        "ml-diff",
        "ml-promote",
        "ml-rollback",
        "ml-audit-log",
        "ml-validate-e2e",
    ]
    assert probe["is_host_remote_command"]
    assert probe["client_class"] == "zorora.http_client.ZororaHTTPClient"
    assert probe["holds_repl_client"]


def _shown_once(run):
    """The host prints what a command returns twice (console.print, then Markdown): ours returns "" and
    prints its verdict once itself."""
    assert run["returned"] == "", run["returned"]
    if run["verdict"]:
        assert run["screen"].count(run["verdict"]) == 1, run["screen"]
    return run["verdict"]


def test_full_run_through_the_repls_own_client_and_real_command_classes(probe):
    run = _run(probe, "ml-validate-e2e")
    assert _shown_once(run).startswith("✓ E2E validation passed"), run["screen"]
    assert ["POST", "/promote"] in probe["client_calls"] and ["POST", "/rollback"] in probe["client_calls"]
    assert "Zorora's ml-* command classes + ZororaHTTPClient" in run["screen"]


def test_sandbox_runs_through_the_real_dispatch(probe):
    preflight = _run(probe, "ml-validate-e2e --preflight-only --sandbox")
    assert _shown_once(preflight).startswith("✓ Preflight passed"), preflight["screen"]
    full = _run(probe, "ml-validate-e2e --sandbox")
    assert _shown_once(full).startswith("✓ E2E validation passed"), full["screen"]
    assert "nothing left in S3" in full["verdict"]
    for phase in range(6):
        assert f"Phase {phase} ·" in full["screen"]


def test_usage_help_and_settings_errors_in_the_real_dispatch(probe):
    bogus = _run(probe, "ml-validate-e2e --bogus")
    # one line, as Zorora answers a mistake (issue 30 item 4): no usage block, no verdict line
    assert _shown_once(bogus) == "Error: unknown flag --bogus; ml-validate-e2e --help lists the flags"
    assert "usage: ml-validate-e2e" not in bogus["screen"] and "not run" not in bogus["screen"]
    helped = _run(probe, "/ml-validate-e2e --help")
    assert _shown_once(helped) == "" and helped["screen"].count("usage: ml-validate-e2e") == 1
    assert "--preflight-only" in helped["screen"] and "help shown above" not in helped["screen"]
    refused = _run(probe, "ml-validate-e2e --sandbox --customer-id acme-prod")
    assert _shown_once(refused).startswith("Error: "), refused["screen"]
    assert "restart Zorora" not in refused["screen"]
    for run in probe["runs"]:
        assert "Unknown command" not in run["screen"] and "Traceback" not in run["screen"], run["line"]


def test_session_flags_in_the_real_dispatch(probe):
    phased = _run(probe, "ml-validate-e2e --sandbox --phase 2 --timeout 5 --deadline 120 --no-color")
    assert _shown_once(phased).startswith("✓ E2E validation passed"), phased["screen"]
    assert "Phase 2 ·" in phased["screen"] and "Phase 3 ·" not in phased["screen"]
    faulty = _run(probe, "ml-validate-e2e --sandbox --fault stage-prefix")
    assert _shown_once(faulty).startswith("✗ Preflight gate failed"), faulty["screen"]


def test_the_session_is_as_before(probe):
    assert probe["env_unchanged"]
    assert probe["promote_still_prompts"]
    assert probe["leftover_threads"] == []
