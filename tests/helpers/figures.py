"""The reliability figures the README quotes (docs/reliability.md), counted as the tests run and shown in
pytest's terminal summary (section "Reliability figures"). Under pytest-xdist each worker counts its own and
hands them to the controller when it ends (conftest.py), which shows their sum."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable

FIGURES: collections.Counter[str] = collections.Counter()


_LABELS = {
    "faults": "faults and fault combinations tried",
    "unreachable": "S3/API made unreachable after a phase",
    "interrupts": "SIGINT points tried (step boundaries + mid-request)",
    "kills": "SIGKILL runs swept clean",
    "signals": "SIGTERM/SIGHUP points and late SIGINTs sent",
    "pipes": "closed-stdout cases (reader gone at start, mid-run, before the verdict)",
    "slow_cleanup": "cleanups that could not prove the prefixes empty (slow or refusing S3, a request still in flight)",
    "redirects": "preflight redirects to another host",
    "parallel": "validations run in parallel",
    "secrets": "secret-leak scenarios checked",
    "secret_forms": "secret forms checked (odd tokens, echoed; URL, SSM and endpoint secrets)",
    "header_values": "header-value cases judged at settings time",
    "report_paths": "unwritable report paths refused",
    "sandbox_input": "bad sandbox flags and requests answered",
    "bad_settings": "bad settings refused",
    "sweep_lookalikes": "look-alike keys seeded for sweep",
    "runs_checked": "runs whose prefixes were checked afterwards",
    "leftover": "leftover objects found",
}


_registered = threading.Lock()


class _FiguresPlugin:
    def pytest_terminal_summary(self, terminalreporter):
        if not FIGURES:
            return
        terminalreporter.section("Reliability figures")
        for key, label in _LABELS.items():
            if key in FIGURES or key == "leftover":
                terminalreporter.write_line(f"{label}: {FIGURES[key]}")


def merge(figures) -> None:
    """A worker's figures, added to this process's (the controller's)."""
    FIGURES.update(collections.Counter(figures))


def count(kind: str, n: int = 1) -> None:
    FIGURES[kind] += n


def leftover_check(keys: Iterable[str]) -> list[str]:
    """Count a finished run's leftovers (the tests assert they are none)."""
    keys = list(keys)
    FIGURES["runs_checked"] += 1
    FIGURES["leftover"] += len(keys)
    return keys


def register_figures(config) -> None:
    with _registered:
        if not config.pluginmanager.has_plugin("zorora-e2e-reliability-figures"):
            config.pluginmanager.register(_FiguresPlugin(), "zorora-e2e-reliability-figures")
