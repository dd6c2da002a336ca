"""The HTML report's timeline: every request the run sent (API and S3) as a bar on one time axis, one row
per plan step (in plan order; a phase's own requests - its setup, the state reads - on a row of their own),
coloured by status class, the cold start marked, each bar's <title> its method, path, status and ms.
Plain SVG text, drawn here: no script, no external resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .recorder import Exchange

LABEL_W, PLOT_W, ROW_H, TOP = 260, 760, 18, 26
COLOURS = {"2": "#2e9d4f", "3": "#3b73c8", "4": "#d08a00", "5": "#d1342f", "0": "#7a2a9a"}


def status_class(status: int) -> str:
    return "0" if not status else str(status)[0]


def _rows(exchanges: Sequence[Exchange], order: Sequence[str], titles: dict[str, str]) -> list[tuple[str, str]]:
    """(key, label) of each row: steps in plan order, a phase's own row after its steps."""
    keys = {(e.step or f"phase {e.phase}") for e in exchanges}
    rows: list[tuple[str, str]] = []
    phases_seen: list[str] = []
    for step in order:
        phase_key = f"phase {step.split('.')[0]}"
        if phase_key not in phases_seen:
            phases_seen.append(phase_key)
        if step in keys:
            rows.append((step, f"{step} {titles.get(step, '')}"))
    for key in sorted(k for k in keys if k not in order):  # a phase's setup and state reads, "phase None"
        label = f"{key}: setup, state reads" if key != "phase None" else "before the first phase"
        at = max((i for i, (k, _l) in enumerate(rows) if k.split(".")[0] == key.split(" ")[-1]), default=len(rows) - 1)
        rows.insert(at + 1, (key, label))
    return rows


def _ticks(span: float) -> list[float]:
    for step in (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300):
        if span / step <= 10:
            return [i * step for i in range(int(span / step) + 1)]
    return [0.0, span]


class Clock:
    """The run's own time: seconds since its monotonic `start`, the `pauses` ((monotonic start, seconds) spent
    waiting for a person: the question after the gate, the walkthrough's pauses) left out, as they are out of the
    run's duration."""

    def __init__(self, start: float, pauses: Sequence[tuple[float, float]] = ()):
        self.start, self.pauses = start, tuple(pauses)

    def __call__(self, moment: float) -> float:
        return moment - self.start - sum(min(length, max(0.0, moment - began)) for began, length in self.pauses)


def svg(
    exchanges: Sequence[Exchange],
    *,
    order: Sequence[str],
    titles: dict[str, str],
    start: float | Clock,
    windows: dict[str, tuple[int, float, float]] | None = None,
    cold: Exchange | None = None,
    failed: Sequence[str] = (),
) -> str:
    """`start`: the run's monotonic start (x = 0), or its Clock (pauses left out); `windows`: step id -> (phase,
    start, end), drawn faintly; `failed`: step ids whose label is red and links to the step's row."""
    windows = windows or {}
    rows = _rows(exchanges, order, titles)
    at = start if isinstance(start, Clock) else Clock(start)

    ends = [e.mono + e.seconds for e in exchanges] + [end for (_p, _s, end) in windows.values()]
    span = max([0.001] + [at(end) for end in ends])
    scale = PLOT_W / span
    height = TOP + ROW_H * max(1, len(rows)) + 8
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" width="{LABEL_W + PLOT_W + 20}" '
        f'height="{height}" viewBox="0 0 {LABEL_W + PLOT_W + 20} {height}">',
        "<title>Every request the run sent, by step, on one time axis</title>",
    ]
    for tick in _ticks(span):
        x = LABEL_W + tick * scale
        out.append(
            f'<line class="tick" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 4}"/>'
            f'<text class="axis" x="{x:.1f}" y="{TOP - 10}">{tick:g} s</text>'
        )
    index = {key: i for i, (key, _label) in enumerate(rows)}
    previous = None
    for i, (key, label) in enumerate(rows):
        y = TOP + i * ROW_H
        if i % 2:
            out.append(f'<rect class="band" x="0" y="{y}" width="{LABEL_W + PLOT_W + 20}" height="{ROW_H}"/>')
        phase = key.split(" ")[-1].split(".")[0]  # "3.1" and "phase 3" are phase 3
        if previous is not None and phase != previous:  # a line between phases
            out.append(f'<line class="phase" x1="0" y1="{y}" x2="{LABEL_W + PLOT_W + 20}" y2="{y}"/>')
        previous = phase
        short = label if len(label) <= 40 else label[:39] + "…"
        text = f'<text class="label" x="4" y="{y + 13}"><title>{escape(label)}</title>{escape(short)}</text>'
        out.append(f'<a href="#step-{escape(key)}" class="failed">{text}</a>' if key in failed else text)
        if key in windows:
            _phase, w0, w1 = windows[key]
            out.append(
                f'<rect class="win" x="{LABEL_W + at(w0) * scale:.1f}" y="{y + 2}" '
                f'width="{max(1.0, (at(w1) - at(w0)) * scale):.1f}" height="{ROW_H - 4}"/>'
            )
    for e in exchanges:
        y = TOP + index[e.step or f"phase {e.phase}"] * ROW_H
        x = LABEL_W + at(e.mono) * scale
        width = max(2.0, e.seconds * scale)
        sclass = status_class(e.status)
        what = f"{'S3 ' + e.operation + ' ' if e.kind == 's3' else ''}{e.method} {e.path}"
        tip = f"{what} → {e.status or 'no answer'} in {e.ms:.0f} ms" + (f" ({e.error})" if e.error else "")
        is_cold = e is cold
        out.append(
            f'<rect class="req s{sclass}{" cold" if is_cold else ""}" data-kind="{e.kind}" x="{x:.1f}" '
            f'y="{y + 4}" width="{width:.1f}" height="{ROW_H - 8}" fill="{COLOURS[sclass]}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if is_cold:
            out.append(
                f'<text class="coldmark" x="{x + width + 4:.1f}" y="{y + 13}">cold start {e.seconds:.1f} s</text>'
            )
    out.append("</svg>")
    return "\n".join(out)


def legend() -> str:
    items = (("2", "2xx"), ("3", "3xx"), ("4", "4xx"), ("5", "5xx"), ("0", "no answer"))
    return " ".join(
        f'<span class="key"><svg width="12" height="10"><rect width="12" height="10" '
        f'fill="{COLOURS[c]}"/></svg> {label}</span>'
        for c, label in items
    )


__all__ = ["Clock", "legend", "status_class", "svg"]
