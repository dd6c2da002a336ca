"""The run history as `zorora-e2e history` and `ml-validate-e2e --history` show it: per target, the last
passing preflight's age (a preflight run that passed, or a full run whose phase 0 passed: its phase 0 is a
preflight), a sparkline with the last and median duration per kind of run AND per verdict (a gate failure
after 0.2 s is not mixed with passing runs), routes whose median latency doubled against the previous week,
and the most recent runs (a note column only when a run has a note; --json report paths whole, under them).
Reads what record.py records; rich is imported only when something is shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..core.durations import duration_text
from ..core.outcomes import FAILED, GATE_FAILED, INTERRUPTED, PASSED
from .file import parse_time, read
from .readiness import LABELS, STYLES, answer_of, label
from .record import ENV, history_path, median

SPARKS = "▁▂▃▄▅▆▇█"
VERDICT_ORDER = (PASSED, FAILED, GATE_FAILED, INTERRUPTED)
GATE_PASSED = (PASSED, FAILED)  # a run with phase 0 that ended so got past the hard gate (gate_failed did not)


def sparkline(values: list[float], width: int = 50) -> str:
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


def slower_routes(records: list[dict], now: datetime, factor: float = 2.0) -> list[tuple[str, float, float]]:
    """(route, previous week's median ms, this week's median ms) for routes whose median latency over the
    last 7 days is >= `factor` x the median over the 7 days before."""
    week = timedelta(days=7)
    this: dict[str, list[float]] = {}
    before: dict[str, list[float]] = {}
    for record in records:
        age = now - parse_time(record["started"])
        bucket = this if age < week else before if age < 2 * week else None
        if bucket is None:
            continue
        routes = record.get("routes")
        for route, figures in routes.items() if isinstance(routes, dict) else ():
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


def preflight_passed(record: dict) -> bool:
    """The run's phase 0 passed: a preflight run that passed, or a run with phase 0 that got past the gate."""
    if record.get("verdict") not in GATE_PASSED:
        return False
    if record.get("kind") == "preflight":
        return record.get("verdict") == PASSED
    phases = record.get("phases")
    return record.get("kind") == "full" or (isinstance(phases, list) and 0 in phases)


def summarize(records: list[dict], now: datetime | None = None) -> dict[str, dict]:
    """Per target: its runs (oldest first), durations per (kind, verdict), last passing preflight, slower
    routes."""
    now = now or datetime.now(timezone.utc)
    targets: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r["started"]):
        entry = targets.setdefault(str(record.get("target", "?")), {"runs": [], "durations": {}})
        entry["runs"].append(record)
        key = (str(record.get("kind", "?")), outcome(record))
        entry["durations"].setdefault(key, []).append(_number(record.get("duration_s", 0)))
    for entry in targets.values():
        passing = [r for r in entry["runs"] if preflight_passed(r)]
        entry["last_preflight_age"] = now - parse_time(passing[-1]["started"]) if passing else None
        entry["slower"] = slower_routes(entry["runs"], now)
    return targets


def outcome(record: dict) -> str:
    """How a run ended, as its trend and the recent runs say it: a readiness check's answer once its gate passed
    (ready, would be refused, ...: a check's outcome, never "failed"), else the run's verdict in words."""
    answer = answer_of(record)
    return label(answer) if answer else str(record.get("verdict", "?")).replace("_", " ")


def outcome_style(record: dict) -> str:
    answer = answer_of(record)
    if answer:
        return STYLES[answer]
    verdict = str(record.get("verdict", "?"))
    return "green" if verdict == PASSED else "yellow" if verdict == INTERRUPTED else "red"


ORDER = tuple(LABELS.values()) + tuple(v.replace("_", " ") for v in VERDICT_ORDER)
ANSWER_STYLES = {LABELS[answer]: style for answer, style in STYLES.items()}


def _trend_order(key: tuple[str, str]):
    kind, said = key
    kinds = ("preflight", "full", "phases", "readiness")
    return (
        kinds.index(kind) if kind in kinds else len(kinds),
        kind,
        ORDER.index(said) if said in ORDER else len(ORDER),
        said,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def show(
    console,
    *,
    target: str | None = None,
    limit: int = 20,
    path: str | None = None,
    now: datetime | None = None,
) -> int:
    """Print recent runs per target. Returns the number of runs shown."""
    from rich.table import Table
    from rich.text import Text

    from ..console.lines import words
    from .readiness import lines as readiness_lines
    from .since import lines as since_lines

    def say(text, style: str = "") -> None:  # on a terminal wrapped between words, under its words; never cut
        words(console, text if isinstance(text, Text) else Text(text, style=style), indent=2)

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
    for number, (name, entry) in enumerate(order):
        if number:  # a blank line between targets (none after the last: a REPL adds its own)
            console.print(Text(""))
        runs = entry["runs"]
        header = Text(f"{name}", style="bold")
        header.append(f"  {len(runs)} run(s)", style="dim")
        age = entry["last_preflight_age"]
        header.append("  last passing preflight: ", style="dim")
        header.append(
            f"{age_text(age)} ago" if age is not None else "none recorded",
            style="green" if age is not None and age < timedelta(hours=24) else "yellow",
        )
        say(header)
        for kind, verdict in sorted(entry["durations"], key=_trend_order):
            durations = entry["durations"][(kind, verdict)]
            line = Text(f"  {kind:<10}", style="dim")
            line.append(f"{verdict:<19}", style=ANSWER_STYLES.get(verdict, "dim"))  # a check's answer: its colour
            line.append(sparkline(durations))
            line.append(
                f"  last {duration_text(durations[-1])}, median {duration_text(median(durations))} "
                f"({_plural(len(durations), 'run')})",
                style="dim",
            )
            say(line)
        for text, style in since_lines(runs):  # per kind: broken since T (N runs), or fixed at T
            say(text, style)
        for text, style in readiness_lines(runs, now, age_text):  # --for checks, per customer
            say(text, style)
        for route, old, new in entry["slower"]:
            say(
                f"  slower: {route} median {old:.0f} ms -> {new:.0f} ms (x{new / old:.1f} vs the previous week)",
                "yellow",
            )
        recent = list(reversed(runs))[:limit]
        run_notes = [_note(r) for r in recent]
        reports = [str(r.get("json_report") or "") for r in recent]
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="dim")
        for column in ("started (UTC)", "kind", "verdict", "duration", "client"):
            table.add_column(column, no_wrap=True)
        if any(run_notes):  # a column only when a run has something in it; its words wrap in it, never cut
            table.add_column("note", overflow="fold")
        for record, note, _report in zip(recent, run_notes, reports):
            cells = [
                Text(str(record["started"]).replace("T", " ").rstrip("Z")),
                Text(str(record.get("kind"))),
                Text(outcome(record), style=outcome_style(record)),
                Text(duration_text(_number(record.get("duration_s", 0)))),
                Text(str(record.get("client", ""))),
            ]
            if any(run_notes):
                cells.append(Text(note, style="yellow"))
            table.add_row(*cells)
            shown += 1
        console.print(table)
        if any(reports):  # a path is never cut: one line each, under the table
            say("  --json reports:", "dim")
            for record, report in zip(recent, reports):
                if report:
                    say(f"    {str(record['started']).replace('T', ' ').rstrip('Z')}  {report}", "dim")
    return shown


__all__ = [
    "age_text",
    "outcome",
    "outcome_style",
    "preflight_passed",
    "show",
    "slower_routes",
    "sparkline",
    "summarize",
]


def _note(record) -> str:
    """A run's note: the answer of a readiness check (--for), else its cold start."""
    if isinstance(record.get("readiness"), dict):
        return f"for {record['readiness'].get('customer')}"  # its answer is the outcome column
    if record.get("cold_start") is True:
        return f"cold start {duration_text(_number(record.get('first_request_s')))}"
    return ""
