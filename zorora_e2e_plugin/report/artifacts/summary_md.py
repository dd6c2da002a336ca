"""The CI summary (`--summary-md PATH`, or GITHUB_STEP_SUMMARY when set): a short Markdown text appended to
the file: the verdict, the phase table, each failing step with its diagnosis and fix (and its curl line).
Every value is redacted already (the results are) and escaped for Markdown here.
"""

from __future__ import annotations

import re

from ...core.diagnosis import diagnosis_id
from ...core.outcomes import CANCELLED, FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASS, PASSED, SKIP, WARN

VERDICT_WORDS = {
    PASSED: "✅ passed",
    FAILED: "❌ failed",
    GATE_FAILED: "⛔ preflight gate failed",
    INTERRUPTED: "⚠️ interrupted",
    CANCELLED: "⚠️ cancelled after the preflight",
}
MARKS = {PASS: "✅", FAIL: "❌", WARN: "⚠️", SKIP: "⏭"}
# what can start markup inside a line: emphasis, code, links, HTML, table cells, strikethrough (an underscore
# between letters or digits never emphasises: customer_id stays as it is)
_SPECIAL = re.compile(r"([\\`*\[\]<>|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md(text) -> str:
    """Plain text as one line of inline Markdown: nothing in it can open a block, a link, HTML or a table."""
    one_line = " ".join(str(text or "").split())
    return _SPECIAL.sub(r"\\\1", one_line)


def code(text) -> str:
    """A code span (shown as typed: no escapes inside), one line, its own backticks made quotes."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"


def summary(
    result, *, header=None, curls: dict[str, str] | None = None, html_path: str = "", har_path: str = ""
) -> str:
    curls = curls or {}
    lines = [f"## zorora-e2e: {VERDICT_WORDS.get(result.verdict, md(result.verdict))}", ""]
    facts = [
        ("target", result.target),
        ("client", result.client),
        ("bucket", result.bucket),
        ("customer", result.customer_id),
        ("duration", f"{result.duration_ms / 1000:.1f} s"),
    ]
    lines.append(" · ".join(f"**{name}** {md(value)}" for name, value in facts if value))
    lines += ["", "| phase | status | steps passed | failed |", "| --- | --- | --- | --- |"]
    for phase in result.phases:
        steps = [s for s in result.steps if s.phase == phase["id"]]
        ok = sum(s.status in (PASS, WARN) for s in steps)
        failed = sum(s.status == FAIL for s in steps)
        lines.append(
            f"| {phase['id']} {md(phase['name'])} | {MARKS.get(phase['status'], '')} "
            f"{phase['status']} | {ok}/{len(steps)} | {failed} |"
        )
    failing = [s for s in result.steps if s.status == FAIL]
    if failing:
        lines += ["", "### Failing steps", ""]
        for step in failing:
            ident = diagnosis_id(step)
            lines.append(f"- **{md(step.id)} {md(step.title)}**" + (f" (diagnosis {md(ident)})" if ident else ""))
            for label, value in (("expected", step.expected), ("got", step.actual), ("fix", step.hint)):
                if value:
                    lines.append(f"  - {label}: {md(value)}")
            if curls.get(step.id):
                line = " ".join(curls[step.id].split())
                fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", line)), default=0))
                lines += ["", f"  {fence}sh", f"  {line}", f"  {fence}", ""]
    notes = [f"HTML report: {code(html_path)}" if html_path else "", f"HAR: {code(har_path)}" if har_path else ""]
    notes = [n for n in notes if n]
    if notes:
        lines += ["", " · ".join(notes)]
    return "\n".join(lines).rstrip() + "\n\n"


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


__all__ = ["append", "code", "md", "summary"]
