"""The readiness block on the console (`--preflight-only --for`): under step 6.6's line, the gates as a table
(gate, value, limit, ✓/✗), /diff's own verdict beside them with a warning where it disagrees, production now
and the last promotion and rollback, the other challengers, and the ml-promote line to type. With
--show-state (or --walkthrough), the customer's registry as 6.2 read it (no extra request).

A Reporter placed after the console view. Everything read from the API or S3 reaches the console as rich
Text, redacted with the run's redactor, never as markup.
"""

from __future__ import annotations

from typing import Callable

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..console.lines import command, words
from ..console.terminal import line_width
from ..core.redact import neutralise
from ..core.steps import Reporter
from ..plan.readiness.gates import READY, diff_words

MARKS = {True: ("✓", "green"), False: ("✗", "bold red"), None: ("?", "yellow")}


class ReadinessView(Reporter):
    def __init__(self, console, state, redact: Callable[[str], str], *, show_state: bool = False):
        self.console, self.state, self.redact, self.show_state = console, state, redact, show_state

    def _line(self, text: str, style: str = "", lead: str = "    ") -> None:
        """A line of the block: on a terminal its words wrap two in from its start, never cut."""
        words(self.console, Text(lead + neutralise(self.redact(str(text))), style=style), indent=2)

    def step_finished(self, result) -> None:
        if result.id != "6.6":
            return
        try:
            self.show()
        except (OSError, ValueError):  # a closed stdout: the report files still carry the block
            pass

    def show(self) -> None:
        st = self.state
        if st.gates and line_width(self.console) is not None:  # a terminal: a table whose values wrap in place
            self.console.print(Padding(self._gates(), (0, 0, 0, 4)), highlight=False)
        elif st.gates:  # whole lines (a log)
            self._line(f"{'gate':<28} {'value':<44} limit", "dim")
            for gate in st.gates:
                mark, style = MARKS[gate.passed]
                line = Text("    ")
                line.append(mark, style=style)
                line.append(neutralise(self.redact(f" {gate.name:<26} {gate.value:<44} {gate.limit}")))
                self.console.print(line, soft_wrap=True, highlight=False)
        if st.diff is not None or st.diff_error:
            self._line(
                "ml-diff (the server's verdict): "
                + (diff_words(st.diff) if st.diff is not None else f"failed: {st.diff_error}")
            )
        for warning in st.answer.warnings if st.answer else []:
            self._line(f"⚠ {warning}", "yellow")
        production = st.production or {}
        if production:
            self._line(
                f"production now: {production.get('model_id')}, promoted {production.get('promoted_at')} by "
                f"{production.get('promoted_by')}",
                "dim",
            )
        for action, word in (("promote", "last promotion"), ("rollback", "last rollback")):
            event = st.last_events.get(action)
            if event is not None:
                self._line(
                    f"{word}: {event.get('timestamp')} by {event.get('actor')}, {event.get('model_id')} "
                    f"({event.get('reason')})",
                    "dim",
                )
        for other in st.others:
            self._line(
                f"other challenger: {other.get('model_id')} (status {other.get('status')}): {other.get('eligibility')}",
                "dim",
            )
        if st.answer is not None and st.answer.kind == READY:
            self._line("to promote, type:", "bold")
            command(self.console, neutralise(self.redact(st.answer.command)), indent=6, style="bold")
        if self.show_state and st.registry is not None:
            self.registry()

    def _gates(self) -> Table:
        table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1), header_style="dim")
        table.add_column("", no_wrap=True)
        table.add_column("gate", no_wrap=True)
        table.add_column("value", overflow="fold")  # between words; a long token folded
        table.add_column("limit", no_wrap=True)
        for gate in self.state.gates:
            mark, style = MARKS[gate.passed]
            table.add_row(
                Text(mark, style=style),
                *(Text(neutralise(self.redact(str(v)))) for v in (gate.name, gate.value, gate.limit)),
            )
        return table

    def registry(self) -> None:
        st = self.state
        self.console.print(Text(""))
        words(
            self.console,
            Text(f"◆ The registry of {st.customer} (s3://{st.bucket}/{st.registry_key})", style="bold blue"),
            indent=2,
        )
        rows = [("production", st.registry.get("production"))]
        rows += [("challenger", entry) for entry in st.registry.get("challengers") or []]
        for role, entry in rows:
            entry = entry if isinstance(entry, dict) else {}
            summary = entry.get("evaluation_summary")
            summary = summary if isinstance(summary, dict) else {}
            fields = [
                ("status", entry.get("status")),
                ("evaluated", entry.get("evaluated_at")),
                ("verdict", summary.get("verdict")),
                ("promoted", entry.get("promoted_at")),
                ("by", entry.get("promoted_by")),
            ]
            shown = ", ".join(f"{k} {v}" for k, v in fields if v is not None)
            row = neutralise(self.redact(f"{role:<11} {entry.get('model_id', '—')}  {shown}"))
            words(self.console, Text("  " + row), indent=12)


__all__ = ["ReadinessView"]
