"""One engine run against an in-process sandbox, as most engine tests make it, and what they read of it."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.plan import cleanup_phase, phases
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate

# How many steps a full run reports, counted from the plan (its phases and the cleanup)
STEPS = sum(len(wave) for phase in [*phases(), cleanup_phase()] for wave in phase.waves)


def run_engine(sandbox, faults=(), *, base_url: str | None = None, observers=(), **flags):
    """The engine against `sandbox` (the direct client unless `flags` say otherwise), with `faults` set for
    this run only; returns (result, console text). `base_url`: a proxy standing in front of the sandbox's API.
    `observers`: extra Reporters (e.g. one that acts at a phase boundary)."""
    sandbox.set_faults(list(faults))
    try:
        target = sandbox_target(sandbox)
        if base_url is not None:
            target = dataclasses.replace(target, base_url=base_url)
        out = io.StringIO()
        result = validate(
            resolve(RunFlags(**{"client": "direct", **flags}), {}, target=target),
            console=make_console(file=out, no_color=True),
            options=RunOptions(observers=observers),
        )
    finally:
        sandbox.set_faults([])
    return result, out.getvalue()


STANDIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standin")


@contextlib.contextmanager
def zorora_standin(monkeypatch):
    """Zorora's classes (the stand-in written from docs/platform.md, section 1) importable for --client zorora, and
    forgotten afterwards."""
    for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(STANDIN)
    try:
        yield
    finally:
        for name in [m for m in sys.modules if m == "zorora" or m.startswith("zorora.")]:
            del sys.modules[name]
