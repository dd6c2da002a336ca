"""Readiness checks (`--preflight-only --for`) in the run history: what a run's line records about one
(record.py), and the lines `zorora-e2e history` / `ml-validate-e2e --history` show per customer and target
(view.py). Cheap to import: no rich."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Dict, List, Optional, Tuple

from .file import parse_time


def recorded(readiness: Optional[Dict]) -> Optional[Dict]:
    """What a history line keeps of a run's readiness block: whose, which challenger, the answer's kind."""
    if not readiness:
        return None
    return {"customer": readiness.get("customer_id"), "challenger": readiness.get("challenger_id"),
            "answer": (readiness.get("answer") or {}).get("kind")}


def lines(runs: List[Dict], now: datetime, age_text: Callable) -> List[Tuple[str, str]]:
    """(text, style) per customer checked on this target: how many checks, the last one's age and answer."""
    by_customer: Dict[str, List[Dict]] = {}
    for run in runs:
        check = run.get("readiness")
        if isinstance(check, dict) and check.get("customer"):
            by_customer.setdefault(str(check["customer"]), []).append(run)
    out = []
    for customer, checks in sorted(by_customer.items()):
        last = max(checks, key=lambda r: r["started"])
        check = last["readiness"]
        answer = str(check.get("answer") or "?")
        style = {"ready": "green", "refused": "red"}.get(answer, "yellow")
        out.append((f"  readiness {customer}: last checked {age_text(now - parse_time(last['started']))} ago: "
                    f"{answer} ({check.get('challenger') or 'no challenger'}); {len(checks)} check(s)", style))
    return out


__all__ = ["lines", "recorded"]
