"""The cyclic collector is off for a one-shot command's process (run, demo), on for long-lived ones."""

import gc
import subprocess
import sys

from zorora_e2e_plugin import cli


def test_only_one_shot_commands_turn_the_collector_off():
    assert gc.isenabled()
    try:
        cli.no_cyclic_gc("sandbox")
        cli.no_cyclic_gc("sweep")
        assert gc.isenabled()
        cli.no_cyclic_gc("run")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_cli_turns_it_off_for_run_before_anything_is_sent():
    """`zorora-e2e run` with a settings error: main() has parsed the command (and turned the collector off)
    before the settings are resolved."""
    code = (
        "import gc, sys\nfrom zorora_e2e_plugin import cli\n"
        "sys.argv = ['zorora-e2e', 'run', '--base-url', 'not a url']\n"
        "cli.main()\nprint('collector', gc.isenabled())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "collector False" in done.stdout, done.stdout + done.stderr
