"""The end of a run on the console, as rich renderables (nothing here prints): the phase table and what the
cleanup kept or left in S3. Also the status symbols every console line uses."""

from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

from rich.table import Table
from rich.text import Text

from .durations import ms_text
from .redact import neutralise
from .results import FAIL, PASS, SKIP, WARN, RunResult, StepResult
from .verdict import phase_mark, table_phases

SYMBOLS = {PASS: ("✓", "green"), FAIL: ("✗", "bold red"), WARN: ("⚠", "yellow"), SKIP: ("⏭", "dim")}


def phase_table(result: RunResult, wall_ms: Callable[[int, Sequence[StepResult]], int]) -> Table:
    """A row per phase (phases skipped whole one after the other share one); `wall_ms(phase, steps)`: its time."""
    table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("Phase", "", "Steps", "Time"):
        table.add_column(column)
    for phase in table_phases(result):
        if "ids" in phase:  # phases skipped whole, one after the other: one row
            table.add_row(Text(f"{phase['ids'][0]}–{phase['ids'][-1]} not run"), Text(*SYMBOLS[SKIP]),
                          Text(f"0/{phase['steps']} passed, {phase['steps']} skipped"), Text(""))
            continue
        steps = [s for s in result.steps if s.phase == phase["id"]]
        symbol, style = SYMBOLS[phase_mark(phase["status"], steps)]
        counts = f"{sum(s.status in (PASS, WARN) for s in steps)}/{len(steps)} passed"
        for status, word in ((WARN, "warning"), (SKIP, "skipped")):
            n = sum(s.status == status for s in steps)
            if n:
                counts += f", {n} {word}" + ("s" if status == WARN and n != 1 else "")
        table.add_row(Text(f"{phase['id']} {phase['name']}"), Text(symbol, style=style),
                      Text(counts), Text(ms_text(wall_ms(phase["id"], steps)), style="dim"))
    return table


def cleanup_lines(result: RunResult) -> List[Tuple[Text, bool]]:
    """(line, soft_wrap) for the test data --keep-data kept, or what the cleanup left in S3 (none: all gone)."""
    cleanup, lines = result.cleanup, []
    if cleanup.kept:
        lines.append((Text("Test data kept (--keep-data) under:", style="yellow"), False))
        lines += [(Text(f"  {prefix}"), True) for prefix in cleanup.prefixes]
        if cleanup.sweep_command:
            lines.append((Text(neutralise(f"Remove it with: {cleanup.sweep_command}"), style="yellow"), True))
    elif cleanup.leftover:
        unproven = "" if cleanup.proven_empty else ", not proven deleted: cleanup could not finish"
        lines.append((Text(f"Left in S3 ({len(cleanup.leftover)}{unproven}):", style="bold red"), False))
        lines += [(Text(neutralise(f"  s3://{result.bucket}/{key}")), True) for key in cleanup.leftover]
        if any(key.endswith("/*") for key in cleanup.leftover):
            lines.append((Text("  (/* : objects the API created, whose names only a listing of S3 can tell)",
                               style="dim"), False))
        lines.append((Text(neutralise(f"Remove them with: {cleanup.sweep_command}"), style="yellow"), True))
    return lines


__all__ = ["SYMBOLS", "cleanup_lines", "phase_table"]
