"""The summary of a run: the phase table's rows (`table_phases`, `phase_mark`) and the verdict: one plain
line that says how the run ended, which steps failed (in plan order) and whose move the fix is (the failed
steps' diagnoses). Plain results in, text out; nothing here prints.
"""

from __future__ import annotations

from ..core.diagnosis import DEPLOYMENT, MODEL, PLATFORM, SETTINGS
from ..core.durations import ms_text
from ..core.outcomes import CANCELLED, FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASS, PASSED, SKIP, WARN, RunResult

VERDICT_STYLE = {
    PASSED: "bold green",
    FAILED: "bold red",
    GATE_FAILED: "bold red",
    INTERRUPTED: "bold yellow",
    CANCELLED: "yellow",
}


def _seconds(ms: int) -> str:
    return ms_text(ms)


NOTHING_RAN = "⚠ Stopped before anything ran: nothing was written, nothing to clean up."


def nothing_ran(result: RunResult) -> bool:
    """Interrupted before a single step ran (q or Ctrl-C at the walkthrough's first pause): nothing written,
    no cleanup; the reports still list every step (skipped)."""
    return (
        result.verdict == INTERRUPTED
        and bool(result.steps)
        and all(s.status == SKIP for s in result.steps)
        and not result.cleanup.leftover
    )


def _readiness_line(result: RunResult) -> str:
    """--for: the readiness answer, the line to act on (once the gate passed)."""
    readiness = getattr(result, "readiness", None)
    return readiness["answer"]["line"] if readiness and result.verdict in (PASSED, FAILED) else ""


def verdict_style(result: RunResult) -> str:
    """Green only for a clean pass: a pass with warnings is yellow."""
    if _readiness_line(result):  # --for: the answer's own mark
        return {"✓": "bold green", "✗": "bold red", "ℹ": "bold blue"}.get(_readiness_line(result)[:1], "bold yellow")
    if result.verdict == PASSED and result.count(WARN):
        return "bold yellow"
    return VERDICT_STYLE[result.verdict]


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
    if _readiness_line(result):  # --for: the gate passed, the readiness answer is the line to act on
        return _readiness_line(result)
    took = _seconds(result.duration_ms)
    total = len(result.steps)
    warnings = result.count(WARN)
    warn_text = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    if result.verdict == PASSED:
        what = "Preflight passed" if all(s.phase == 0 for s in result.steps) else "E2E validation passed"
        skipped = result.count(SKIP)
        skip_text = f", {skipped} skipped" if skipped else ""
        if warnings:  # not a clean pass: it says so first
            return (
                f"⚠ {what} with {warnings} warning{'s' if warnings != 1 else ''} (step {_ids(result, WARN)}): "
                f"{result.count(PASS) + warnings}/{total} steps{skip_text} in {took}; {_cleanup_words(result)}."
            )
        return f"✓ {what}: {result.count(PASS)}/{total} steps{skip_text} in {took}; {_cleanup_words(result)}."
    if result.verdict == GATE_FAILED:
        written = f"{_cleanup_words(result)}" if result.cleanup.leftover else "no test data written"
        return (
            f"✗ Preflight gate failed (step {_ids(result, FAIL)}) in {took}: {written}; "
            f"{fix_words(result)} as shown and re-run."
        )
    if result.verdict == CANCELLED:
        return f"✗ Cancelled: nothing was written (the preflight passed in {took}; answered no to Proceed)."
    if nothing_ran(result):
        return NOTHING_RAN
    if result.verdict == INTERRUPTED:
        return f"⚠ E2E validation interrupted after {took}; cleanup ran: {_cleanup_words(result)}."
    return (
        f"✗ E2E validation failed: {result.count(FAIL)} of {total} steps failed "
        f"(step {_ids(result, FAIL)}){warn_text} in {took}; {_cleanup_words(result)}; "
        f"{fix_words(result)} as shown."
    )  # fix_words: whose move, from the failed steps' diagnoses


FIX_WORDS: dict[str, str] = {
    SETTINGS: "fix your settings",
    DEPLOYMENT: "fix the infrastructure",
    PLATFORM: "fix the platform's Lambda code",
    MODEL: "re-evaluate or retrain the challenger (nothing is broken)",
}


def fix_words(result: RunResult) -> str:
    """Whose move it is, from the failed steps' diagnoses: the infrastructure only when it is."""
    words = [FIX_WORDS[w] for w in result.whose(FAIL) if w in FIX_WORDS]
    if "validator" in result.whose(FAIL):
        words.append("report the validator's error")
    if not words:
        return "see the failed steps"  # none of them named a fix: "...; see the failed steps as shown."
    return " and ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " and " + words[-1]


def table_phases(result: RunResult) -> list[dict]:
    """The table's rows: a phase each, except that two or more phases skipped whole in a row share one."""
    rows: list[dict] = []
    for phase in result.phases:
        steps = [s for s in result.steps if s.phase == phase["id"]]
        if steps and all(s.status == SKIP for s in steps) and phase["id"] != 5:
            if rows and "run" in rows[-1]:
                rows[-1]["run"].append((phase, len(steps)))
                continue
            rows.append({"run": [(phase, len(steps))]})
            continue
        rows.append(phase)
    table: list[dict] = []
    for row in rows:
        if "run" not in row:
            table.append(row)
        elif len(row["run"]) == 1:
            table.append(row["run"][0][0])
        else:
            table.append({"ids": [p["id"] for p, _ in row["run"]], "steps": sum(n for _, n in row["run"])})
    return table


def phase_mark(status: str, steps) -> str:
    """A phase's mark in the table: a green ✓ only when every step ran and passed. A skipped or interrupted
    step in a phase that otherwise passed makes it ⚠ (a phase skipped whole stays ⏭)."""
    if status == PASS and any(s.status == SKIP for s in steps):
        return WARN
    return status
