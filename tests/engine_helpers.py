"""One engine run against an in-process sandbox, as most engine tests make it."""

from __future__ import annotations

import io
from typing import Optional

from zorora_e2e_plugin.engine import sandbox_flags, validate
from zorora_e2e_plugin.report import make_console
from zorora_e2e_plugin.settings import resolve


def run_engine(sandbox, faults=(), *, base_url: Optional[str] = None, observers=(), **flags):
    """The engine against `sandbox` (the direct client unless `flags` say otherwise), with `faults` set for
    this run only; returns (result, console text). `base_url`: a proxy standing in front of the sandbox's API.
    `observers`: extra Reporters (e.g. one that acts at a phase boundary)."""
    sandbox.set_faults(list(faults))
    try:
        merged = sandbox_flags(sandbox, {"client": "direct", **flags})
        if base_url is not None:
            merged["base_url"] = base_url
        out = io.StringIO()
        result = validate(resolve(merged, {}), console=make_console(file=out, no_color=True), observers=observers)
    finally:
        sandbox.set_faults([])
    return result, out.getvalue()
