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
from collections.abc import Sequence
from typing import Callable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..console.lines import command, hanging, words
from ..console.terminal import is_terminal
from ..core.diagnosis import WHOSE_WORDS
from ..core.durations import ms_text
from ..core.outcomes import FAIL, PASS, SKIP, WARN, RunResult, StepResult, plan_key
from ..core.redact import neutralise
from ..core.steps import Phase, Reporter, RunHeader
from .live import LiveSteps
from .verdict_line import nothing_ran, phase_mark, table_phases, verdict_line, verdict_style

SYMBOLS: dict[str, tuple[str, str]] = {
    PASS: ("✓", "green"),
    FAIL: ("✗", "bold red"),
    WARN: ("⚠", "yellow"),
    SKIP: ("⏭", "dim"),
}


def phase_table(result: RunResult, wall_ms: Callable[[int, Sequence[StepResult]], int]) -> Table:
    """A row per phase (phases skipped whole one after the other share one); `wall_ms(phase, steps)`: its time."""
    table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("Phase", "", "Steps", "Time"):
        table.add_column(column)
    for phase in table_phases(result):
        if "ids" in phase:  # phases skipped whole, one after the other: one row
            table.add_row(
                Text(f"{phase['ids'][0]}–{phase['ids'][-1]} not run"),
                Text(*SYMBOLS[SKIP]),
                Text(f"0/{phase['steps']} passed, {phase['steps']} skipped"),
                Text(""),
            )
            continue
        steps = [s for s in result.steps if s.phase == phase["id"]]
        symbol, style = SYMBOLS[phase_mark(phase["status"], steps)]
        counts = f"{sum(s.status in (PASS, WARN) for s in steps)}/{len(steps)} passed"
        for status, word in ((WARN, "warning"), (SKIP, "skipped")):
            n = sum(s.status == status for s in steps)
            if n:
                counts += f", {n} {word}" + ("s" if status == WARN and n != 1 else "")
        table.add_row(
            Text(f"{phase['id']} {phase['name']}"),
            Text(symbol, style=style),
            Text(counts),
            Text(ms_text(wall_ms(phase["id"], steps)), style="dim"),
        )
    return table


def cleanup_lines(result: RunResult) -> list[tuple[Text, bool]]:
    """(line, is a command) for the test data --keep-data kept, or what the cleanup left in S3 (none: all gone).
    The command that removes it is a line of its own, to copy."""
    cleanup, lines = result.cleanup, []
    if cleanup.kept:
        lines.append((Text("Test data kept (--keep-data) under:", style="yellow"), False))
        lines += [(Text(f"  {prefix}"), False) for prefix in cleanup.prefixes]
        if cleanup.sweep_command:
            lines.append((Text("Remove it with:", style="yellow"), False))
            lines.append((Text(neutralise(cleanup.sweep_command), style="yellow"), True))
    elif cleanup.leftover:
        unproven = "" if cleanup.proven_empty else ", not proven deleted: cleanup could not finish"
        lines.append((Text(f"Left in S3 ({len(cleanup.leftover)}{unproven}):", style="bold red"), False))
        lines += [(Text(neutralise(f"  s3://{result.bucket}/{key}")), False) for key in cleanup.leftover]
        if any(key.endswith("/*") for key in cleanup.leftover):
            lines.append(
                (
                    Text("  (/* : objects the API created, whose names only a listing of S3 can tell)", style="dim"),
                    False,
                )
            )
        lines.append((Text("Remove them with:", style="yellow"), False))
        lines.append((Text(neutralise(cleanup.sweep_command), style="yellow"), True))
    return lines


class ConsoleReporter(Reporter):
    """One line per step, in plan order within its phase, while a live line shows the steps still running;
    details under failures and warnings; a table and a verdict at the end.

    On a terminal a line wraps between words at the width, under the text it continues (a step's title, its
    details); anywhere else (CI logs, `| tee`) lines are written whole and no control code is written. Nothing is
    ever cut (console/lines.py)."""

    def __init__(self, console: Console, print_verdict: bool = True, debug: bool = False):
        self.console = console
        self.print_verdict = print_verdict  # the REPL prints the returned verdict itself
        self.debug = debug  # --debug: an unexpected error's traceback is printed under its step
        self.terminal = is_terminal(console)
        self.live = LiveSteps(console)
        self._lock = threading.RLock()
        self._order: list[str] = []  # the current phase's step ids in plan order, not yet printed
        self._done: dict[str, StepResult] = {}  # finished, waiting for an earlier step's line
        self._phase_ids: list[str] = []  # the current phase's step ids in plan order
        self._skips: list[StepResult] = []  # the current phase's skipped steps: one line at the phase's end
        self._fixes: dict[tuple, str] = {}  # (diagnosis id, hint) -> the step whose line showed it first
        self._phase: Phase | None = None
        self._header_shown = True  # the current phase's header is printed (with its first step, not before)
        self._skipped_phases: list[tuple] = []  # (phase, skipped results) of phases nothing ran in, not yet said

    def _print(self, *renderables, end: str = "\n", **options) -> None:
        with self._lock:
            self.console.print(*renderables, highlight=False, end=end, **options)

    def run_started(self, header: RunHeader, phases: Sequence[Phase]) -> None:
        h = header
        client = {
            "zorora": "Zorora's ml-* command classes + ZororaHTTPClient",
            "direct": "direct HTTP (zorora not importable)",
        }[h.client]
        title = Text("Zorora ↔ ONA platform end-to-end validation", style="bold")
        if h.preflight_only:
            title.append("  (preflight only)", style="dim")
        rows = [
            ("target", h.target),
            ("client", client),
            ("bucket", f"s3://{h.bucket} ({h.region})" + (f" via {h.s3_endpoint}" if h.s3_endpoint else "")),
            ("customer", h.customer),
            ("actor", h.actor),
        ]
        with self._lock:
            self._print(title)
            for name, value in rows:  # a long value wraps under itself
                hanging(self.console, Text(f"  {name:<9}", style="dim"), Text(neutralise(value)))

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
        lead = Text()
        lead.append(SYMBOLS[SKIP][0], style=SYMBOLS[SKIP][1])
        lead.append(" ")
        body = Text(f"{what}  skipped ({len(skips)} step{'s' if len(skips) != 1 else ''}): ", style="bold")
        body.append(neutralise("; ".join(dict.fromkeys(r.actual or "skipped" for r in skips))), style="dim")
        with self._lock:
            self._print(Text(""))
            hanging(self.console, lead, body)

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
        lead = Text("  ")
        lead.append(SYMBOLS[SKIP][0], style=SYMBOLS[SKIP][1])
        lead.append(f" {shown}  ")
        body = Text(f"skipped ({len(ids)} steps): ")
        body.append(neutralise("; ".join(dict.fromkeys(s.actual or "skipped" for s in skips))), style="dim")
        with self._lock:
            hanging(self.console, lead, body)

    def _show(self, result: StepResult) -> None:
        if result.status == SKIP:
            self._skips.append(result)
            return
        self._line(result)

    def _line(self, result: StepResult) -> None:
        self._header()
        symbol, style = SYMBOLS[result.status]
        lead = Text("  ")
        lead.append(symbol, style=style)
        lead.append(f" {result.id}  ", style="bold" if result.status == FAIL else "")
        line = Text(neutralise(result.title))
        if result.duration_ms:
            line.append(f"  {ms_text(result.duration_ms)}", style="dim")
        if result.status in (PASS, SKIP) and result.actual:
            line.append(f"  {neutralise(result.actual)}", style="dim")
        with self._lock:  # its words under its title, never cut
            hanging(self.console, lead, line)
        if result.status in (FAIL, WARN):
            self._details(result)
            if self.debug and result.traceback:
                self._print(
                    Text("\n".join(neutralise(line) for line in result.traceback.splitlines()), style="dim"),
                    soft_wrap=not self.terminal,
                )

    def _details(self, result: StepResult) -> None:
        rows = [
            (label, value, style)
            for label, value, style in (
                ("expected", result.expected, "dim"),
                ("got", result.actual, ""),
                ("fix", self._fix(result), "yellow"),
            )
            if value
        ]
        with self._lock:  # under its step; on a terminal each wraps under its own words, a log keeps it whole
            for label, value, style in rows:
                lines = neutralise(value).split("\n")
                for number, line in enumerate(lines):
                    lead = Text(f"       {label if number == 0 else '':<8} ", style="dim")
                    hanging(self.console, lead, Text(line, style=style))

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
        """A line of its own; the lines after its first (a curl line) are commands to copy."""
        said, *commands = text.split("\n")
        with self._lock:
            if not self._order:  # the phase's lines are out: its skipped steps' line goes before the notice
                self._end_phase()
                self._show_skipped_phases()
            words(self.console, Text(neutralise(said), style="yellow"))
            for line in commands:
                command(self.console, line, style="yellow")

    def log_request(self, text: str) -> None:
        """A line of the sandbox's request log (--log-requests), from a server thread: printed above the
        live line, never into it; on a terminal a long path wraps under the line."""
        with self._lock:
            words(self.console, Text(neutralise(text), style="dim"), indent=2)

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
                self._verdict(result)
            return
        self._print(Text(""))
        self._print(phase_table(result, lambda phase, steps: self._phase_wall_ms(result, phase, steps)))
        for line, is_command in cleanup_lines(result):
            with self._lock:
                if is_command:
                    command(self.console, line.plain, style=str(line.style))
                else:
                    words(self.console, line, indent=2)
        if self.print_verdict:
            self._verdict(result)

    def _verdict(self, result: RunResult) -> None:
        with self._lock:
            verdict_text(self.console, verdict_line(result), verdict_style(result))


def verdict_text(console, line: str, style: str) -> None:
    """The one verdict line: on a terminal its words wrap under the words after its mark (✓ ...), never cut."""
    mark = line[:2] if line[:1] in "✓✗⚠ℹ" and line[1:2] == " " else ""
    hanging(console, Text(mark, style=style), Text(line[len(mark) :], style=style))


def make_console(no_color: bool = False, file=None, force_terminal: bool | None = None) -> Console:
    return Console(file=file, no_color=no_color, highlight=False, force_terminal=force_terminal, soft_wrap=False)
