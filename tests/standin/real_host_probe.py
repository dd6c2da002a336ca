"""Run `ml-validate-e2e` through a real Zorora checkout's `zorora` package, its real
`register_ona_commands` and its real dispatch (`engine/repl_command_processor.py`), in a fresh
process; print what happened as JSON.

    python real_host_probe.py <zorora checkout> <config dir>

Only the REPL object comes from the stand-in (the real `repl.py` needs Zorora's full requirements);
`<config dir>` comes after the checkout on sys.path and holds a `config.py` for a checkout without one.
Needs no network: the targets are sandboxes on loopback.
"""

from __future__ import annotations

import builtins
import importlib.util
import io
import json
import os
import sys
import threading
from pathlib import Path

zorora_src, config_dir = sys.argv[1], sys.argv[2]
here = Path(__file__).resolve().parent
sys.path[:0] = [zorora_src, config_dir]

from zorora_e2e_plugin import autoload  # noqa: E402 - after sys.path names the checkout

autoload.install()  # what the .pth does at start-up (idempotent if it already did)

import zorora.commands.ona_platform as ona  # noqa: E402 - after sys.path names the checkout
from engine.repl_command_processor import REPLCommandProcessor  # noqa: E402 - after sys.path names the checkout
from rich.console import Console  # noqa: E402 - after sys.path names the checkout
from zorora.http_client import HTTPError  # noqa: E402 - after sys.path names the checkout
from zorora.remote_command import CommandError, RemoteCommand  # noqa: E402 - after sys.path names the checkout

from zorora_e2e_plugin.sandbox import Sandbox  # noqa: E402 - after sys.path names the checkout

spec = importlib.util.spec_from_file_location("standin_repl", here / "standin_repl.py")
standin_repl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(standin_repl)

import config  # noqa: E402  (the checkout's own, or the copy of its Docker config)

report = {
    "config_file": config.__file__,
    "repl_legacy_enabled": bool(getattr(config, "REPL_LEGACY_ENABLED", True)),
    "ona_file": ona.__file__,
    "remote_command_file": sys.modules["zorora.remote_command"].__file__,
    "processor_file": sys.modules["engine.repl_command_processor"].__file__,
    "wrapped": bool(getattr(ona.register_ona_commands, "__zorora_e2e_wrapped__", False)),
}

sandbox = Sandbox().start()
for key, value in sandbox.env().items():
    os.environ[key] = value
os.environ["ZORORA_AUTO_CONFIRM"] = "false"
os.environ["ZORORA_ACTOR"] = "probe-user"

console = Console(file=io.StringIO(), width=160, color_system=None)
repl = standin_repl.StandinREPL(console=console)
ona.register_ona_commands(repl)  # exactly what main.py calls; our command rides along
processor = REPLCommandProcessor(repl, RemoteCommand, CommandError, HTTPError)
ours = repl.remote_commands.get("ml-validate-e2e")
client = repl.remote_commands["ml-list-challengers"].http_client
report.update(
    registered=list(repl.remote_commands),
    is_host_remote_command=isinstance(ours, RemoteCommand),
    holds_repl_client=ours is not None and ours.http_client is client,
    client_class=type(client).__module__ + "." + type(client).__qualname__,
)

calls = []
real_request = client.request


def spy(method, path, *args, **kwargs):
    calls.append([method, path])
    return real_request(method, path, *args, **kwargs)


client.request = spy
os.environ["ONA_API_BASE_URL"] = "http://127.0.0.1:9/prod/api/v1"  # only the REPL's client knows the target
env_before = dict(os.environ)
threads_before = set(threading.enumerate())


def type_line(line):
    """What repl.run() does with a line that starts with ml- or /ml-."""
    start = len(console.file.getvalue())
    ours.last_verdict = None
    handled = processor.handle_workflow_command(line)
    if handled is not None:
        repl.ui.display_response(handled[0])
    else:
        processor.handle_slash_command(line)  # prints "Unknown command: ..." (the host quirk)
    return {
        "line": line,
        "returned": None if handled is None else handled[0],
        "verdict": ours.last_verdict,
        "screen": console.file.getvalue()[start:],
    }


runs = [
    type_line(line)
    for line in (
        "ml-validate-e2e",  # the REPL's client, the real ona_platform classes
        "ml-validate-e2e --preflight-only --sandbox",
        "ml-validate-e2e --sandbox",
        "ml-validate-e2e --bogus",
        "/ml-validate-e2e --help",
        "ml-validate-e2e --sandbox --customer-id acme-prod",
        "ml-validate-e2e --sandbox --phase 2 --timeout 5 --deadline 120 --no-color",
        "ml-validate-e2e --sandbox --fault stage-prefix",
    )
]
sandbox.stop()

asked = []
builtins.input = lambda prompt="": asked.append(prompt) or "no"
promote = repl.remote_commands["ml-promote"]
still_prompts = promote.ui is repl.ui and promote._confirm_action("Promote?") is False and len(asked) == 1

leftover = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
report.update(
    runs=runs,
    client_calls=calls,
    env_unchanged=dict(os.environ) == env_before,
    promote_still_prompts=still_prompts,
    leftover_threads=leftover,
)
print(json.dumps(report))
