"""The first run of `ml-validate-e2e --sandbox` in a fresh session says something at once: its first line
("starting a local sandbox ...") is printed before the sandbox's S3 (moto, the slow import of a fresh
session) is imported, and before the run's header. Checked by order, not by time (speed goes in the bench:
`python -m benchmarks.bench --only session`): a fresh process with the stand-in REPL, an import hook
that writes a marker into the same console the moment moto's import begins."""

from __future__ import annotations

import subprocess
import sys

import pytest
from standin.harness import REPO_ROOT, STANDIN_DIR, subprocess_env

SCRIPT = r"""
import io, sys
sys.path.insert(0, sys.argv[1])
from rich.console import Console
console = Console(file=io.StringIO(), width=200, no_color=True)

class Marker:
    seen = False
    def find_spec(self, name, path=None, target=None):
        if name == "moto.core" and not Marker.seen:  # (find_spec("moto") alone imports nothing)
            Marker.seen = True
            console.file.write("<<moto import begins>>\n")
        return None

sys.meta_path.insert(0, Marker())
import standin_repl, zorora.commands.ona_platform as ona, zorora_e2e_plugin
repl = standin_repl.StandinREPL(console=console)
ona.register_ona_commands(repl)
zorora_e2e_plugin.register(repl)
assert "moto" not in sys.modules
console.file.write("<<typed>>\n")
repl.handle("ml-validate-e2e --sandbox")
sys.stdout.write(console.file.getvalue())
"""


@pytest.mark.slow
def test_the_first_line_comes_before_the_sandbox_import_and_the_header():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(STANDIN_DIR)],
        capture_output=True,
        text=True,
        timeout=180,
        env=subprocess_env(
            ZORORA_E2E_AUTOLOAD="0",
            ZORORA_E2E_HISTORY="0",
            ONA_API_BASE_URL="http://127.0.0.1:9/prod/api/v1",
            ONA_API_TOKEN="x",
        ),
        cwd=str(REPO_ROOT),
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    first = out.index("starting a local sandbox")
    assert first < out.index("<<moto import begins>>") < out.index("Zorora ↔ ONA platform end-to-end validation"), out
    assert out[out.index("<<typed>>") + len("<<typed>>") : first].strip() == "", out  # the command's first line
    assert "E2E validation passed" in out
