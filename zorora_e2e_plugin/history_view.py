"""The run history as `zorora-e2e history` and `ml-validate-e2e --history` show it: per target, a
sparkline of preflight and full-run durations, the last passing preflight's age, routes whose median
latency doubled against the previous week, and the most recent runs. Reads what history.py records;
rich is imported only when something is shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

from .history import ENV, history_path, median, parse_time, read

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: List[float], width: int = 50) -> str:
    """One block per value (the last `width`), lowest ▁ to highest █; equal values sit in the middle."""
    values = [float(v) for v in values][-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low <= 1e-9:
        return SPARKS[3] * len(values)
    top = len(SPARKS) - 1
    return "".join(SPARKS[int(round((v - low) / (high - low) * top))] for v in values)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def age_text(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def slower_routes(records: List[Dict], now: datetime, factor: float = 2.0) -> List[Tuple[str, float, float]]:
    """(route, previous week's median ms, this week's median ms) for routes whose median latency over the
    last 7 days is >= `factor` x the median over the 7 days before."""
    week = timedelta(days=7)
    this: Dict[str, List[float]] = {}
    before: Dict[str, List[float]] = {}
    for record in records:
        age = now - parse_time(record["started"])
        bucket = this if age < week else before if age < 2 * week else None
        if bucket is None:
            continue
        routes = record.get("routes")
        for route, figures in (routes.items() if isinstance(routes, dict) else ()):
            try:
                bucket.setdefault(str(route), []).append(float(figures["median_ms"]))
            except (KeyError, TypeError, ValueError):
                continue
    out = []
    for route in sorted(this):
        if route in before:
            old, new = median(before[route]), median(this[route])
            if old > 0 and new >= factor * old:
                out.append((route, old, new))
    return out


def summarize(records: List[Dict], now: Optional[datetime] = None) -> Dict[str, Dict]:
    """Per target: its runs (oldest first), durations per kind, last passing preflight, slower routes."""
    now = now or datetime.now(timezone.utc)
    targets: Dict[str, Dict] = {}
    for record in sorted(records, key=lambda r: r["started"]):
        entry = targets.setdefault(str(record.get("target", "?")), {"runs": [], "durations": {}})
        entry["runs"].append(record)
        entry["durations"].setdefault(record.get("kind", "?"), []).append(float(record.get("duration_s", 0)))
    for entry in targets.values():
        passing = [r for r in entry["runs"] if r.get("kind") == "preflight" and r.get("verdict") == "passed"]
        entry["last_preflight_age"] = now - parse_time(passing[-1]["started"]) if passing else None
        entry["slower"] = slower_routes(entry["runs"], now)
    return targets


def show(console, *, target: Optional[str] = None, limit: int = 20, path: Optional[str] = None,
         now: Optional[datetime] = None) -> int:
    """Print recent runs per target. Returns the number of runs shown."""
    from rich.table import Table
    from rich.text import Text

    from .readiness_history import lines as readiness_lines

    def say(text: str, style: str = "") -> None:
        console.print(Text(text, style=style), soft_wrap=True, highlight=False)

    path = path or history_path()
    if path is None:
        say(f"Run history is off ({ENV}=0).", "yellow")
        return 0
    records, notes = read(path)
    for note in notes:
        say(note, "yellow")
    if target:
        records = [r for r in records if str(r.get("target", "")) == target]
    if not records:
        say(f"No runs recorded{' for ' + target if target else ''} in {path}.")
        return 0
    now = now or datetime.now(timezone.utc)
    shown = 0
    summary = summarize(records, now)
    order = sorted(summary.items(), key=lambda item: item[1]["runs"][-1]["started"], reverse=True)
    for name, entry in order:
        runs = entry["runs"]
        header = Text(f"{name}", style="bold")
        header.append(f"  {len(runs)} run(s)", style="dim")
        age = entry["last_preflight_age"]
        header.append("  last passing preflight: ", style="dim")
        header.append(f"{age_text(age)} ago" if age is not None else "none recorded",
                      style="green" if age is not None and age < timedelta(hours=24) else "yellow")
        console.print(header, soft_wrap=True, highlight=False)
        for kind in ("preflight", "full", "phases"):
            durations = entry["durations"].get(kind)
            if durations:
                line = Text(f"  {kind:<10}", style="dim")
                line.append(sparkline(durations))
                line.append(f"  last {durations[-1]:.2f} s, median {median(durations):.2f} s "
                            f"({len(durations)} run(s))", style="dim")
                console.print(line, soft_wrap=True, highlight=False)
        for text, style in readiness_lines(runs, now, age_text):  # --for checks, per customer
            say(text, style)
        for route, old, new in entry["slower"]:
            say(f"  slower: {route} median {old:.0f} ms -> {new:.0f} ms (x{new / old:.1f} vs the previous week)",
                "yellow")
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="dim")
        for column in ("started (UTC)", "kind", "verdict", "duration", "client", "note"):
            table.add_column(column)
        for record in list(reversed(runs))[:limit]:
            verdict = str(record.get("verdict", "?"))
            style = "green" if verdict == "passed" else "yellow" if verdict == "interrupted" else "red"
            note = ""
            if record.get("cold_start") is True:
                note = f"cold start {_number(record.get('first_request_s')):.1f} s"
            if isinstance(record.get("readiness"), dict):
                note = f"for {record['readiness'].get('customer')}: {record['readiness'].get('answer')}"
            table.add_row(Text(str(record["started"]).replace("T", " ").rstrip("Z")), Text(str(record.get("kind"))),
                          Text(verdict, style=style), Text(f"{float(record.get('duration_s', 0)):.2f} s"),
                          Text(str(record.get("client", ""))), Text(note, style="yellow"))
            shown += 1
        console.print(table)
        console.print(Text(""))
    return shown


__all__ = ["age_text", "show", "slower_routes", "sparkline", "summarize"]
