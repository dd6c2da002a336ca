"""Report paths that are not files, and two reports that are one file (issue 17 item 11).

`--json` naming a named pipe blocked the run, beyond SIGTERM and Ctrl-C; `--json same.json --junit link.json`
(a symlink to it) wrote the XML over the JSON. Both are refused when the settings are read (exit 2, nothing
run), and no report write ever blocks: a path that became a pipe since is refused, not waited on.
"""

from __future__ import annotations

import json
import os
import threading

import pytest
from helpers.cli import cli, cli_in_process

from zorora_e2e_plugin.core.outcomes import PASSED, Cleanup, RunResult
from zorora_e2e_plugin.report.files import write_reports

NO_HISTORY = {"ZORORA_E2E_HISTORY": "0"}


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--json", "--junit"])
def test_a_named_pipe_as_report_is_refused_before_anything_runs(tmp_path, flag):
    fifo = tmp_path / "report"
    os.mkfifo(fifo)
    done = cli("demo", "--preflight-only", "--no-color", flag, str(fifo), env=NO_HISTORY, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "named pipe" in done.stderr and "regular file" in done.stderr and str(fifo) in done.stderr
    assert "Phase 0" not in done.stdout  # nothing ran


@pytest.mark.slow
def test_a_device_as_report_is_refused(tmp_path):
    done = cli_in_process("demo", "--preflight-only", "--json", os.devnull, env=NO_HISTORY)
    assert done.returncode == 2 and "a device" in done.stderr, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("how", ["symlink", "hardlink", "detour"])
def test_two_reports_that_resolve_to_one_file_are_refused(tmp_path, how):
    (tmp_path / "sub").mkdir()
    target = tmp_path / "same.json"
    target.write_text('{"keep": true}\n')
    other = {
        "symlink": tmp_path / "link.json",
        "hardlink": tmp_path / "hard.json",
        "detour": tmp_path / "sub" / ".." / "same.json",
    }[how]
    if how == "symlink":
        other.symlink_to("same.json")
    elif how == "hardlink":
        os.link(target, other)
    done = cli_in_process("demo", "--preflight-only", "--json", str(target), "--junit", str(other), env=NO_HISTORY)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "same file" in done.stderr
    assert json.loads(target.read_text()) == {"keep": True}  # untouched


@pytest.mark.slow
def test_a_new_report_path_and_a_regular_file_are_fine(tmp_path):
    old = tmp_path / "old.xml"
    old.write_text("stale")
    done = cli("demo", "--preflight-only", "--json", str(tmp_path / "new.json"), "--junit", str(old), env=NO_HISTORY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "new.json").read_text())["verdict"] == PASSED
    assert old.read_text().startswith("<?xml")


def _result():
    return RunResult(
        verdict=PASSED, customer_id="zorora-e2e-test-x", client="direct", duration_ms=1, steps=[], cleanup=Cleanup()
    )


@pytest.mark.parametrize("reader", [False, True], ids=["no-reader", "with-reader"])
def test_a_report_path_that_became_a_pipe_is_refused_without_blocking(tmp_path, reader):
    """Checked at settings time, replaced by a pipe before the end of the run: the write must not wait."""
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    held = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK) if reader else None
    errors = []
    writer = threading.Thread(
        target=lambda: errors.extend(write_reports(_result(), json_path=str(fifo), junit_path=str(fifo)).errors),
        daemon=True,
    )
    writer.start()
    writer.join(30)
    try:
        assert not writer.is_alive(), "writing a report to a named pipe blocked"
        assert len(errors) == 2 and all(str(fifo) in e for e in errors), errors
    finally:
        if held is not None:
            os.close(held)


@pytest.mark.slow
def test_a_history_path_that_is_a_pipe_blocks_nothing(tmp_path):
    fifo = tmp_path / "history"
    os.mkfifo(fifo)
    done = cli("demo", "--preflight-only", "--no-color", env={"ZORORA_E2E_HISTORY": str(fifo)}, timeout=60)
    assert done.returncode == 0 and "run history not written" in done.stdout + done.stderr, done.stdout
    assert "not a regular file" in done.stdout + done.stderr
    done = cli("history", "--no-color", env={"ZORORA_E2E_HISTORY": str(fifo)}, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr
