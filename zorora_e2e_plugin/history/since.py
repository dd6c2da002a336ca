"""Since when: the previous run of the same target and kind (for `--json`'s `previous`, so that a pipeline can
alert on a change), and per target and kind whether it is "broken since T (N runs)" (a pass, then only failures)
or "fixed at T" (failures, then a pass), for `zorora-e2e history`.

A run that was interrupted or cancelled proves nothing either way: it neither breaks nor fixes a streak. A
readiness check (--for) counts by its gate alone: past it, its answer (would be refused, not answerable, nothing
to promote) is the model's state, not the chain broken.
Cheap to import: no rich.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..core.outcomes import FAILED, GATE_FAILED, PASSED
from .file import read
from .readiness import answer_of
from .record import history_path, run_kind, target_host

BROKEN = (FAILED, GATE_FAILED)
PREVIOUS_TAIL_BYTES = 256 * 1024  # the last ~600 runs: enough to find the one before, cheap at a run's end


def key_of(settings, result) -> tuple[str, str]:
    """(target, kind) as the run's history line records them (record.Recorder.record)."""
    kind = "readiness" if getattr(result, "readiness", None) else run_kind(settings.phases)
    return target_host(settings.base_url, settings.sandbox), kind


def previous_run(settings, result, env: Mapping[str, str] | None = None) -> dict | None:
    """The last recorded run of the same target and kind: {verdict, started, report}; None when there is none
    or the history is off. Never raises (the history must never break a run)."""
    path = history_path(env)
    if path is None:
        return None
    try:
        target, kind = key_of(settings, result)
        records, _notes = read(path, tail_bytes=PREVIOUS_TAIL_BYTES)
        same = [r for r in records if r.get("target") == target and r.get("kind") == kind]
    except Exception:
        return None
    if not same:
        return None
    last = max(same, key=lambda r: r["started"])
    return {"verdict": last.get("verdict"), "started": last["started"]}


def streak(runs: list[dict]) -> tuple[str, str, int] | None:
    """For one target and kind's runs (any order): ("broken", since, N) when the latest runs that decided
    anything are N failures after a pass (`since`: the first failure's start); ("fixed", at, 1) when the latest
    is a pass after a failure (`at`: the pass's start); else None (never passed, or nothing changed)."""
    decided = [r for r in sorted(runs, key=lambda r: r["started"]) if _decision(r) in BROKEN + (PASSED,)]
    if len(decided) < 2:
        return None
    if _decision(decided[-1]) == PASSED:
        return ("fixed", decided[-1]["started"], 1) if _decision(decided[-2]) in BROKEN else None
    failing = 0
    for record in reversed(decided):
        if _decision(record) == PASSED:
            return "broken", decided[len(decided) - failing]["started"], failing
        failing += 1
    return None  # failing since the first run recorded: never passed, nothing broke


def _decision(record: dict) -> str | None:
    """What a run says of the chain: its verdict; a readiness check past its gate passed, whatever its answer."""
    return PASSED if answer_of(record) is not None else record.get("verdict")


def lines(runs: list[dict]) -> list[tuple[str, str]]:
    """(text, style) per kind of this target's runs whose state changed: broken since, or fixed at."""
    by_kind: dict[str, list[dict]] = {}
    for record in runs:
        by_kind.setdefault(str(record.get("kind", "?")), []).append(record)
    order = ("preflight", "full", "readiness", "phases")
    out = []
    for kind in sorted(by_kind, key=lambda k: (order.index(k) if k in order else len(order), k)):
        found = streak(by_kind[kind])
        if found is None:
            continue
        state, when, count = found
        stamp = when.replace("T", " ").rstrip("Z") + " UTC"
        label = f"{kind} runs"
        if state == "broken":
            out.append((f"  {label:<15}broken since {stamp} ({count} run{'s' if count != 1 else ''})", "red"))
        else:
            out.append((f"  {label:<15}fixed at {stamp}", "green"))
    return out


__all__ = ["key_of", "lines", "previous_run", "streak"]
