"""Readiness checks (`--preflight-only --for`) in the run history: what a run's line records about one
(record.py), and the lines `zorora-e2e history` / `ml-validate-e2e --history` show per customer and target
(view.py). Cheap to import: no rich."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from .file import parse_time


def recorded(readiness: dict | None) -> dict | None:
    """What a history line keeps of a run's readiness block: whose, which challenger, the answer's kind."""
    if not readiness:
        return None
    return {
        "customer": readiness.get("customer_id"),
        "challenger": readiness.get("challenger_id"),
        "answer": (readiness.get("answer") or {}).get("kind"),
    }


# a check's own outcomes (its answer's kind, once the gate passed): their words and colours, never "failed"
LABELS = {
    "ready": "ready",
    "refused": "would be refused",
    "unanswerable": "not answerable",
    "nothing": "nothing to promote",
}
STYLES = {"ready": "green", "refused": "magenta", "unanswerable": "yellow", "nothing": "blue"}
HTML_COLOURS = {"ready": "#2e9d4f", "refused": "#8e44ad", "unanswerable": "#d08a00", "nothing": "#3b73c8"}
GATE_PASSED = ("passed", "failed")  # the run got past phase 0: the answer is the check's outcome


def answer_of(record: dict) -> str | None:
    """A history line's readiness answer (ready, refused, unanswerable, nothing) when the run is a readiness check
    whose gate passed; None for any other run (a failed gate or an interrupted check keeps its verdict)."""
    check = record.get("readiness")
    if not isinstance(check, dict) or record.get("verdict") not in GATE_PASSED:
        return None
    answer = check.get("answer")
    return str(answer) if answer in LABELS else None


def label(answer: str | None) -> str:
    return LABELS.get(str(answer), str(answer or "?"))


def lines(runs: list[dict], now: datetime, age_text: Callable) -> list[tuple[str, str]]:
    """(text, style) per customer checked on this target: how many checks, the last one's age and answer."""
    by_customer: dict[str, list[dict]] = {}
    for run in runs:
        check = run.get("readiness")
        if isinstance(check, dict) and check.get("customer"):
            by_customer.setdefault(str(check["customer"]), []).append(run)
    out = []
    for customer, checks in sorted(by_customer.items()):
        last = max(checks, key=lambda r: r["started"])
        check = last["readiness"]
        answer = answer_of(last)
        said = label(answer) if answer else str(last.get("verdict", "?")).replace("_", " ")
        style = STYLES.get(str(answer), "red" if last.get("verdict") == "gate_failed" else "yellow")
        challenger = f" ({check['challenger']})" if check.get("challenger") else ""
        out.append(
            (
                f"  readiness {customer}: last checked {age_text(now - parse_time(last['started']))} ago: "
                f"{said}{challenger}; {len(checks)} check(s)",
                style,
            )
        )
    return out


__all__ = ["HTML_COLOURS", "LABELS", "STYLES", "answer_of", "label", "lines", "recorded"]
