"""Renders plain results: a live rich view, a summary table, a one-line verdict,
and JSON / JUnit files. Knows nothing about HTTP or S3.

Outside text (server bodies, ids, paths) is only ever put into rich `Text`
objects, never parsed as markup: a stray `[/oops]` from a server must not end
the user's REPL.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from typing import Dict, Optional, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .redact import neutralise
from .model import Phase, Reporter, RunHeader
from .results import (FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASS, PASSED, PHASE_NAMES, SKIP, WARN, RunResult,
                      StepResult)

SYMBOLS = {PASS: ("✓", "green"), FAIL: ("✗", "bold red"), WARN: ("⚠", "yellow"), SKIP: ("⏭", "dim")}
VERDICT_STYLE = {PASSED: "bold green", FAILED: "bold red", GATE_FAILED: "bold red", INTERRUPTED: "bold yellow"}


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f}s" if ms >= 1000 else f"{ms} ms"


class ConsoleReporter(Reporter):
    """One line per step as it finishes, details under failures, a table and a verdict at the end."""

    def __init__(self, console: Console, print_verdict: bool = True, debug: bool = False):
        self.console = console
        self.print_verdict = print_verdict  # the REPL prints the returned verdict itself
        self.debug = debug  # --debug: an unexpected error's traceback is printed under its step
        self._lock = threading.Lock()
        self._phase_started: Dict[int, float] = {}
        self._phase_ended: Dict[int, float] = {}

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
        now = time.monotonic()
        for previous in self._phase_started:
            self._phase_ended.setdefault(previous, now)
        self._phase_started[phase.id] = now
        self._print(Text(f"\nPhase {phase.id} · {phase.name}", style="bold cyan"))

    def step_finished(self, result: StepResult) -> None:
        symbol, style = SYMBOLS[result.status]
        line = Text("  ")
        line.append(symbol, style=style)
        line.append(f" {result.id}  ", style="bold" if result.status == FAIL else "")
        line.append(neutralise(result.title))
        if result.duration_ms:
            line.append(f"  {_seconds(result.duration_ms)}", style="dim")
        if result.status in (PASS, SKIP) and result.actual:
            line.append(f"  {neutralise(result.actual)}", style="dim")
        self._print(line, no_wrap=True, overflow="ellipsis")
        if result.status in (FAIL, WARN):
            details = Table.grid(padding=(0, 1))
            details.add_column(width=6)
            details.add_column(style="dim", no_wrap=True)
            details.add_column(overflow="fold")
            for label, value, style in (("expected", result.expected, "dim"), ("got", result.actual, ""),
                                        ("fix", result.hint, "yellow")):
                if value:
                    details.add_row("", label, Text(neutralise(value), style=style))
            self._print(details)
            if self.debug and result.traceback:
                self._print(Text("\n".join(neutralise(line) for line in result.traceback.splitlines()), style="dim"))

    def notice(self, text: str) -> None:
        self._print(Text(neutralise(text), style="yellow"))

    def _phase_wall_ms(self, phase: int, steps) -> int:
        """Wall time of a phase (its steps overlap, so their durations do not add up)."""
        if phase not in self._phase_started:
            return sum(s.duration_ms for s in steps)
        end = self._phase_ended.get(phase, time.monotonic())
        return int((end - self._phase_started[phase]) * 1000)

    def run_finished(self, result: RunResult) -> None:
        table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
        for column in ("Phase", "", "Steps", "Time"):
            table.add_column(column)
        for phase in result.phases:
            steps = [s for s in result.steps if s.phase == phase["id"]]
            symbol, style = SYMBOLS[phase["status"]]
            counts = f"{sum(s.status in (PASS, WARN) for s in steps)}/{len(steps)} passed"
            if any(s.status == SKIP for s in steps):
                counts += f", {sum(s.status == SKIP for s in steps)} skipped"
            table.add_row(Text(f"{phase['id']} {PHASE_NAMES[phase['id']]}"), Text(symbol, style=style),
                          Text(counts), Text(_seconds(self._phase_wall_ms(phase["id"], steps)), style="dim"))
        self._print(Text(""))
        self._print(table)
        cleanup = result.cleanup
        if cleanup.kept:
            self._print(Text("Test data kept (--keep-data) under:", style="yellow"))
            for prefix in cleanup.prefixes:
                self._print(Text(f"  {prefix}"), soft_wrap=True)
            if cleanup.sweep_command:
                self._print(Text(neutralise(f"Remove it with: {cleanup.sweep_command}"), style="yellow"),
                            soft_wrap=True)
        elif cleanup.leftover:
            unproven = "" if cleanup.proven_empty else ", not proven deleted: cleanup could not finish"
            self._print(Text(f"Left in S3 ({len(cleanup.leftover)}{unproven}):", style="bold red"))
            for key in cleanup.leftover:
                self._print(Text(neutralise(f"  s3://{result.bucket}/{key}")), soft_wrap=True)
            if any(key.endswith("/*") for key in cleanup.leftover):
                self._print(Text("  (/* : objects the API created, whose names only a listing of S3 can tell)",
                                 style="dim"))
            self._print(Text(neutralise(f"Remove them with: {cleanup.sweep_command}"),
                             style="yellow"), soft_wrap=True)
        if self.print_verdict:
            self._print(Text(verdict_line(result), style=VERDICT_STYLE[result.verdict]), soft_wrap=True)


def _ids(result: RunResult, status: str, limit: int = 6) -> str:
    ids = [s.id for s in result.steps if s.status == status]
    text = ", ".join(ids[:limit])
    return text + (", …" if len(ids) > limit else "")


def _cleanup_words(result: RunResult) -> str:
    c = result.cleanup
    if c.kept:
        return "test data kept (--keep-data)"
    if c.leftover and not c.proven_empty:
        return f"cleanup could not prove the prefixes empty: {len(c.leftover)} object(s) may be left in S3 — see above"
    if c.leftover:
        return f"{len(c.leftover)} object(s) left in S3 — see above"
    return "nothing left in S3"


def verdict_line(result: RunResult) -> str:
    """One plain line that reads the same printed and rendered as Markdown (no markup, no underscores)."""
    took = _seconds(result.duration_ms)
    total = len(result.steps)
    warnings = result.count(WARN)
    warn_text = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    if result.verdict == PASSED:
        what = "Preflight passed" if all(s.phase == 0 for s in result.steps) else "E2E validation passed"
        skipped = result.count(SKIP)
        skip_text = f", {skipped} skipped" if skipped else ""
        return (f"✓ {what}: {result.count(PASS) + warnings}/{total} steps{warn_text}{skip_text} in {took}; "
                f"{_cleanup_words(result)}.")
    if result.verdict == GATE_FAILED:
        written = (f"{_cleanup_words(result)}" if result.cleanup.leftover else "no test data written")
        return (f"✗ Preflight gate failed (step {_ids(result, FAIL)}) in {took}: {written}; "
                "fix the infrastructure as shown and re-run.")
    if result.verdict == INTERRUPTED:
        return f"⚠ E2E validation interrupted after {took}; cleanup ran: {_cleanup_words(result)}."
    return (f"✗ E2E validation failed: {result.count(FAIL)} of {total} steps failed "
            f"(step {_ids(result, FAIL)}){warn_text} in {took}; {_cleanup_words(result)}.")


def write_json(result: RunResult, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result.to_dict(), handle, indent=2)  # ensure_ascii: every odd character as a \u escape
        handle.write("\n")


# XML 1.0 allows only tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD and U+10000-U+10FFFF; anything else (NUL and the
# other C0 controls, lone surrogates, U+FFFE, U+FFFF) makes the whole file unparseable.
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """A value as XML 1.0 can carry it: control characters (C0, DEL, C1) and characters XML forbids become
    visible escapes (`\\x1b`, `\\uffff`)."""
    text = neutralise("" if value is None else str(value))
    return _XML_FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_junit(result: RunResult, path: str) -> None:
    x = xml_text
    suite = ET.Element("testsuite", {
        "name": "zorora-e2e", "tests": str(len(result.steps)), "failures": str(result.count(FAIL)),
        "skipped": str(result.count(SKIP)), "errors": "0", "time": f"{result.duration_ms / 1000:.3f}"})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("verdict", result.verdict), ("customer_id", result.customer_id),
                        ("client", result.client), ("target", result.target)):
        ET.SubElement(properties, "property", {"name": name, "value": x(value)})
    for step in result.steps:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"zorora-e2e.phase{step.phase}", "name": x(f"{step.id} {step.title}"),
            "time": f"{step.duration_ms / 1000:.3f}"})
        body = "\n".join(f"{k}: {v}" for k, v in (("expected", step.expected), ("got", step.actual),
                                                 ("fix", step.hint)) if v)
        if step.status == FAIL:
            ET.SubElement(case, "failure", {"message": x(step.actual or "failed")}).text = x(body)
        elif step.status == SKIP:
            ET.SubElement(case, "skipped", {"message": x(step.actual or "skipped")})
        elif step.status == WARN:
            ET.SubElement(case, "system-out").text = x("warning\n" + body)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_reports(result: RunResult, *, json_path: Optional[str] = None, junit_path: Optional[str] = None) -> list:
    """Writes the reports asked for. Returns one line per report that could not be written, and records them
    on the result: a report asked for and missing makes a non-zero exit (2 when the run itself passed)."""
    errors = []
    for path, writer, flag in ((json_path, write_json, "--json"), (junit_path, write_junit, "--junit")):
        if not path:
            continue
        try:
            writer(result, path)
        except (OSError, ValueError) as exc:  # ValueError: UnicodeEncodeError and kin, should one slip through
            reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
            errors.append(f"could not write the {flag} report {os.fspath(path)}: {reason}")
    result.report_errors.extend(errors)
    return errors


def make_console(no_color: bool = False, file=None, force_terminal: Optional[bool] = None) -> Console:
    return Console(file=file, no_color=no_color, highlight=False, force_terminal=force_terminal,
                   soft_wrap=False)
