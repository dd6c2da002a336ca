"""Renders plain results on a console: a line per step in plan order (with a live line for the steps still
running, live.py), then the end of the run: the phase table, what the cleanup kept or left in S3, and a one-line
verdict. Also the status symbols every console line uses. Knows nothing about HTTP or S3. The JSON / JUnit
files are written by files.py, the verdict's words come from verdict_line.py.

Outside text (server bodies, ids, paths) is only ever put into rich `Text`
objects, never parsed as markup: a stray `[/oops]` from a server must not end
the user's REPL.
"""

from __future__ import annotations

import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..console.terminal import is_terminal
from ..core.diagnosis import WHOSE_WORDS
from ..core.durations import ms_text
from ..core.outcomes import FAIL, PASS, SKIP, WARN, RunResult, StepResult, plan_key
from ..core.redact import neutralise
from ..core.steps import Phase, Reporter, RunHeader
from .live import LiveSteps
from .verdict_line import nothing_ran, phase_mark, table_phases, verdict_line, verdict_style

SYMBOLS: dict[str, tuple[str, str]] = {PASS: ("✓", "green"), FAIL: ("✗", "bold red"), WARN: ("⚠", "yellow"),
                                       SKIP: ("⏭", "dim")}


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


class ConsoleReporter(Reporter):
    """One line per step, in plan order within its phase, while a live line shows the steps still running;
    details under failures and warnings; a table and a verdict at the end.

    On a terminal a step line is cut to the width (its details wrap below it); anywhere else (CI logs,
    `| tee`) nothing is ever cut: lines are written whole and no control code is written."""

    def __init__(self, console: Console, print_verdict: bool = True, debug: bool = False):
        self.console = console
        self.print_verdict = print_verdict  # the REPL prints the returned verdict itself
        self.debug = debug  # --debug: an unexpected error's traceback is printed under its step
        self.terminal = is_terminal(console)
        self.live = LiveSteps(console)
        self._lock = threading.RLock()
        self._order: List[str] = []  # the current phase's step ids in plan order, not yet printed
        self._done: Dict[str, StepResult] = {}  # finished, waiting for an earlier step's line
        self._phase_ids: List[str] = []  # the current phase's step ids in plan order
        self._skips: List[StepResult] = []  # the current phase's skipped steps: one line at the phase's end
        self._fixes: Dict[tuple, str] = {}  # (diagnosis id, hint) -> the step whose line showed it first
        self._phase: Optional[Phase] = None
        self._header_shown = True  # the current phase's header is printed (with its first step, not before)
        self._skipped_phases: List[tuple] = []  # (phase, skipped results) of phases nothing ran in, not yet said

    def _print(self, *renderables, end: str = "\n", **options) -> None:
        with self._lock:
            self.console.print(*renderables, highlight=False, end=end, **options)

    def run_started(self, header: RunHeader, phases: Sequence[Phase]) -> None:
        h = header
        client = {"zorora": "Zorora's ml-* command classes + ZororaHTTPClient",
                  "direct": "direct HTTP (zorora not importable)"}[h.client]
        title = Text("Zorora ↔ ONA platform end-to-end validation", style="bold")
        if h.preflight_only:
            title.append("  (preflight only)", style="dim")
        rows = [("target", h.target), ("client", client),
                ("bucket", f"s3://{h.bucket} ({h.region})" + (f" via {h.s3_endpoint}" if h.s3_endpoint else "")),
                ("customer", h.customer), ("actor", h.actor)]
        lines = Text()
        for name, value in rows:
            lines.append(f"  {name:<9}", style="dim")
            lines.append(f"{neutralise(value)}\n")
        self._print(title)
        self._print(lines, end="")

    def phase_started(self, phase: Phase) -> None:
        with self._lock:
            self._flush()
            self.live.stop()
            self._phase, self._header_shown = phase, False
            self._order = sorted((s.id for wave in phase.waves for s in wave), key=plan_key)
            self._phase_ids = list(self._order)

    def _header(self) -> None:
        """The current phase's header, once a step of it runs: phases skipped whole are one line together."""
        if self._header_shown or self._phase is None:
            return
        self._show_skipped_phases()
        self._header_shown = True
        self._print(Text(f"\nPhase {self._phase.id} · {self._phase.name}", style="bold cyan"))

    def _show_skipped_phases(self) -> None:
        group, self._skipped_phases = self._skipped_phases, []
        if not group:
            return
        ids = [phase.id for phase, _ in group]
        skips = [r for _, results in group for r in results]
        if len(group) == 1:
            what = f"Phase {group[0][0].id} · {group[0][0].name}"
        elif ids == list(range(ids[0], ids[0] + len(ids))):
            what = f"Phases {ids[0]}–{ids[-1]}"
        else:
            what = "Phases " + ", ".join(map(str, ids))
        line = Text("\n")
        line.append(SYMBOLS[SKIP][0], style=SYMBOLS[SKIP][1])
        line.append(f" {what}  skipped ({len(skips)} step{'s' if len(skips) != 1 else ''}): ", style="bold")
        line.append(neutralise("; ".join(dict.fromkeys(r.actual or "skipped" for r in skips))), style="dim")
        self._print(line, soft_wrap=True)

    def _end_phase(self) -> None:
        """The phase's skipped steps: one line under its header, or (nothing of it ran) into the group of
        phases skipped whole."""
        if self._header_shown:
            self._show_skips()
        elif self._skips:
            self._skipped_phases.append((self._phase, sorted(self._skips, key=lambda r: plan_key(r.id))))
            self._skips = []

    def step_started(self, step) -> None:
        with self._lock:
            self._header()
        self.live.started(step.id, step.title)

    def step_finished(self, result: StepResult) -> None:
        with self._lock:
            self.live.finished(result.id)
            if result.id not in self._order:  # not announced by phase_started: shown as it comes
                self._show(result)
                return
            self._done[result.id] = result
            while self._order and self._order[0] in self._done:
                self._show(self._done.pop(self._order.pop(0)))

    def _flush(self) -> None:
        """Lines still held for an earlier step that never reported (a run cut short), in plan order."""
        order, self._order = self._order, []
        for step_id in order:
            if step_id in self._done:
                self._show(self._done.pop(step_id))
        self._end_phase()

    def _show_skips(self) -> None:
        """The phase's skipped steps as one line (the root cause above stays on screen); --json and --junit
        still list each."""
        skips, self._skips = sorted(self._skips, key=lambda s: plan_key(s.id)), []
        if len(skips) <= 1:
            for result in skips:
                self._line(result)
            return
        ids = [s.id for s in skips]
        at = [self._phase_ids.index(i) for i in ids] if set(ids) <= set(self._phase_ids) else []
        contiguous = len(ids) > 2 and at == list(range(at[0], at[0] + len(at))) if at else False
        shown = f"{ids[0]}–{ids[-1]}" if contiguous else ", ".join(ids)
        line = Text("  ")
        line.append(SYMBOLS[SKIP][0], style=SYMBOLS[SKIP][1])
        line.append(f" {shown}  skipped ({len(ids)} steps): ")
        line.append(neutralise("; ".join(dict.fromkeys(s.actual or "skipped" for s in skips))), style="dim")
        self._print(line, soft_wrap=True)

    def _show(self, result: StepResult) -> None:
        if result.status == SKIP:
            self._skips.append(result)
            return
        self._line(result)

    def _line(self, result: StepResult) -> None:
        self._header()
        symbol, style = SYMBOLS[result.status]
        line = Text("  ")
        line.append(symbol, style=style)
        line.append(f" {result.id}  ", style="bold" if result.status == FAIL else "")
        line.append(neutralise(result.title))
        if result.duration_ms:
            line.append(f"  {ms_text(result.duration_ms)}", style="dim")
        if result.status in (PASS, SKIP) and result.actual:
            line.append(f"  {neutralise(result.actual)}", style="dim")
        if self.terminal:
            self._print(line, no_wrap=True, overflow="ellipsis")
        else:
            self._print(line, soft_wrap=True)
        if result.status in (FAIL, WARN):
            self._details(result)
            if self.debug and result.traceback:
                self._print(Text("\n".join(neutralise(line) for line in result.traceback.splitlines()), style="dim"),
                            soft_wrap=not self.terminal)

    def _details(self, result: StepResult) -> None:
        rows = [(label, value, style) for label, value, style in (
            ("expected", result.expected, "dim"), ("got", result.actual, ""), ("fix", self._fix(result), "yellow"))
            if value]
        if not self.terminal:  # whole lines: a log keeps every word of a diagnosis, whatever its width
            for label, value, style in rows:
                text = Text(f"       {label:<8} ", style="dim")
                text.append(neutralise(value).replace("\n", "\n" + " " * 16), style=style)
                self._print(text, soft_wrap=True)
            return
        details = Table.grid(padding=(0, 1))
        details.add_column(width=6)
        details.add_column(style="dim", no_wrap=True)
        details.add_column(overflow="fold")
        for label, value, style in rows:
            details.add_row("", label, Text(neutralise(value), style=style))
        self._print(details)

    def _fix(self, result: StepResult) -> str:
        """The fix, whose move it is and its id; a fix already shown by an earlier step is named, not repeated."""
        d = result.diagnosis
        if not d:
            return result.hint
        if not result.hint:  # the step named no fix: whose move it is, still
            return f"{WHOSE_WORDS.get(d['whose'], d['whose'])}: see what was expected and what came back ({d['id']})"
        first = self._fixes.setdefault((d["id"], result.hint), result.id)
        if first != result.id:
            return f"the same as step {first} ({d['id']})"
        return f"{WHOSE_WORDS.get(d['whose'], d['whose'])}: {result.hint}  ({d['id']})"

    def notice(self, text: str) -> None:
        with self._lock:
            if not self._order:  # the phase's lines are out: its skipped steps' line goes before the notice
                self._end_phase()
                self._show_skipped_phases()
        self._print(Text(neutralise(text), style="yellow"), soft_wrap=not self.terminal)

    def log_request(self, text: str) -> None:
        """A line of the sandbox's request log (--log-requests), from a server thread: printed above the
        live line, never into it."""
        if self.terminal:  # one line, like a step's: a long path is cut at the width
            self._print(Text(neutralise(text), style="dim"), no_wrap=True, overflow="ellipsis")
        else:
            self._print(Text(neutralise(text), style="dim"), soft_wrap=True)

    def close(self) -> None:
        """The end of the run, however it ended: held lines out, the live line gone, the console as it was."""
        with self._lock:
            try:
                self._flush()
                self._show_skipped_phases()
            finally:
                self.live.stop()

    @staticmethod
    def _phase_wall_ms(result: RunResult, phase: int, steps) -> int:
        """Wall time of a phase, as the runner timed it (its steps overlap, so their durations do not add up)."""
        if phase not in result.phase_seconds:
            return sum(s.duration_ms for s in steps)
        return int(result.phase_seconds[phase] * 1000)

    def run_finished(self, result: RunResult) -> None:
        self.close()
        if nothing_ran(result):  # one line, no table of skipped phases
            if self.print_verdict:
                self._print(Text(verdict_line(result), style=verdict_style(result)), soft_wrap=True)
            return
        self._print(Text(""))
        self._print(phase_table(result, lambda phase, steps: self._phase_wall_ms(result, phase, steps)))
        for line, soft_wrap in cleanup_lines(result):
            self._print(line, soft_wrap=soft_wrap)
        if self.print_verdict:
            self._print(Text(verdict_line(result), style=verdict_style(result)), soft_wrap=True)


def make_console(no_color: bool = False, file=None, force_terminal: Optional[bool] = None) -> Console:
    return Console(file=file, no_color=no_color, highlight=False, force_terminal=force_terminal,
                   soft_wrap=False)

