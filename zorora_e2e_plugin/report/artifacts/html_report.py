"""`--html PATH`: the run as one self-contained HTML file (inline CSS and SVG; no script, no external URL):
the header, the phase summary, every step in plan order with its diagnosis and curl line, the request
timeline (timeline.py), the state views (state.py's data), this target's recent runs, and a failures-only
toggle (a checkbox and CSS) with an anchor list of the failed steps. Every text goes through the run's
redactor and HTML escaping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from html import escape
from typing import Any, Callable

from ...core.diagnosis import diagnosis_id
from ...core.outcomes import CANCELLED, FAIL, FAILED, GATE_FAILED, INTERRUPTED, PASS, PASSED, SKIP, WARN
from ...history.readiness import HTML_COLOURS, answer_of, label
from . import timeline
from .state import registry_rows

RUN_COLOURS: dict[str | None, str] = {PASSED: "#2e9d4f", INTERRUPTED: "#d08a00", CANCELLED: "#d08a00"}  # else red
MARK = {PASS: "✓", FAIL: "✗", WARN: "⚠", SKIP: "⏭"}
VERDICTS: dict[str | None, str] = {
    PASSED: "passed",
    FAILED: "failed",
    GATE_FAILED: "preflight gate failed",
    INTERRUPTED: "interrupted",
    CANCELLED: "cancelled after the preflight",
}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header,main>section{background:#fff;margin:12px 16px;padding:12px 16px;border-radius:6px;box-shadow:0 1px 2px #0002}
h1{margin:0 0 6px;font-size:22px}h2{font-size:17px;margin:4px 0 10px}h3{font-size:14px;margin:12px 0 6px}
.v-passed{color:#1e7d3a}.v-failed,.v-gate_failed{color:#c62828}.v-interrupted,.v-cancelled{color:#b26a00}
.v-r-ready{color:#1e7d3a}.v-r-refused{color:#8e44ad}.v-r-unanswerable{color:#b26a00}.v-r-nothing{color:#2457a6}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}dt{color:#667}dd{margin:0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid #e4e6ea}
th{font-weight:600;background:#f0f2f5}.s-pass{color:#1e7d3a}.s-fail{color:#c62828;font-weight:600}
.s-warn{color:#b26a00}.s-skip{color:#889}tr.fail{background:#fdeeee}tr.warn{background:#fff7e6}
.detail{font-size:12.5px;color:#444}.detail b{color:#667;font-weight:500}
pre{white-space:pre-wrap;word-break:break-all;
background:#f3f4f7;padding:6px 8px;border-radius:4px;margin:4px 0;font-size:12px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.toggle{margin:8px 16px}#only-failed:checked~main tr.step:not(.fail){display:none}
#only-failed:checked~main tr.step.fail td{border-top:2px solid #c62828}
svg.timeline{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#333}
svg .band{fill:#f4f5f8}svg .phase{stroke:#8a93a6;stroke-width:1}
svg .tick{stroke:#dde}svg .axis{fill:#889}svg .win{fill:#d9e4f5;opacity:.7}
svg .failed text{fill:#c62828;font-weight:600}
svg .cold{stroke:#000;stroke-width:1.5}svg .coldmark{fill:#7a2a9a;font-weight:600}
.key{margin-right:12px;font-size:12px}.muted{color:#889}ul.tree{margin:0;padding-left:18px}
a{color:#2457a6}nav a{margin-right:10px}td.ms{white-space:nowrap}td.mono{word-break:break-all}
"""


@dataclasses.dataclass(frozen=True)
class Requests:
    """The run's requests as the recorder saw them: its exchanges, the recording's start (time.monotonic()),
    each step's window (step id -> (phase, start, end)), the exchange that was the cold start, and the pauses."""

    exchanges: Sequence[Any] = ()
    start: float = 0.0
    windows: dict[str, tuple] | None = None
    cold: Any | None = None
    pauses: Sequence[tuple] = ()  # (monotonic start, seconds) spent waiting for a person: not the run's time


def render(
    result,
    *,
    header,
    requests: Requests,
    curls: dict[str, str] | None = None,
    state=None,
    history: Sequence[dict] = (),
    redact: Callable[[str], str] = str,
) -> str:
    """The page. The timeline's rows are the result's steps, in plan order, under their titles."""
    exchanges = requests.exchanges

    def t(value) -> str:
        return escape(redact("" if value is None else str(value)), quote=True)

    curls = curls or {}
    failed = [s for s in result.steps if s.status == FAIL]
    verdict, kind = VERDICTS.get(result.verdict, result.verdict), result.verdict
    answer = answer_of(
        {"verdict": result.verdict, "readiness": {"answer": ((result.readiness or {}).get("answer") or {}).get("kind")}}
    )
    if answer:  # a readiness check whose gate passed: its answer, in its own colour, is the headline
        verdict, kind = f"readiness: {label(answer)}", f"r-{answer}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>zorora-e2e: {t(verdict)} · {t(result.target)}</title>",
        f"<style>{CSS}</style></head><body>",
        f'<header><h1 class="v-{t(kind)}" id="verdict">zorora-e2e: {t(verdict)}</h1><dl class="facts">',
    ]
    facts = [
        ("target", result.target),
        ("client", result.client),
        ("bucket", result.bucket),
        ("customer", result.customer_id),
        ("actor", getattr(header, "actor", "")),
        ("started at", result.started_at),
        ("duration", f"{result.duration_ms / 1000:.2f} s"),
        (
            "requests",
            f"{len(exchanges)} ({sum(e.kind == 'api' for e in exchanges)} API, "
            f"{sum(e.kind == 's3' for e in exchanges)} S3)",
        ),
        ("note", result.note),
    ]
    out += [f"<dt>{t(k)}</dt><dd>{t(v)}</dd>" for k, v in facts if v]
    out.append("</dl>")
    if failed:
        out.append(
            "<nav><b>Failed steps:</b> "
            + " ".join(f'<a href="#step-{t(s.id)}">{t(s.id)} {t(s.title)}</a>' for s in failed)
            + "</nav>"
        )
    out.append("</header>")
    out.append(
        '<input type="checkbox" id="only-failed" class="toggle"><label for="only-failed">'
        f"show failed steps only ({len(failed)})</label>"
    )
    out.append("<main>")
    out.append(_phases(result, t))
    out.append(
        '<section id="timeline"><h2>Timeline: every request the run sent</h2>'
        f'<p class="muted">{timeline.legend()} · hover a bar for method, path, status and ms; '
        "the faint band behind a row is its step's time.</p>"
    )
    out.append(
        timeline.svg(
            exchanges,
            order=[s.id for s in result.steps],
            titles={s.id: s.title for s in result.steps},
            start=timeline.Clock(requests.start, requests.pauses),
            windows=requests.windows,
            cold=requests.cold,
            failed=[s.id for s in failed],
        )
        if exchanges
        else '<p class="muted">No request was sent.</p>'
    )
    out.append("</section>")
    out.append(_steps(result, curls, t))
    if state is not None:
        out.append(_state(state, t))
    out.append(_history(history, t))
    out.append("</main></body></html>")
    return "\n".join(out)


def _phases(result, t) -> str:
    rows = []
    for phase in result.phases:
        steps = [s for s in result.steps if s.phase == phase["id"]]
        counts = f"{sum(s.status in (PASS, WARN) for s in steps)}/{len(steps)} passed"
        for status, word in ((FAIL, "failed"), (WARN, "warning"), (SKIP, "skipped")):
            n = sum(s.status == status for s in steps)
            if n:
                counts += f", {n} {word}"
        rows.append(
            f"<tr><td>{phase['id']} {t(phase['name'])}</td>"
            f'<td class="s-{phase["status"]}">{MARK[phase["status"]]} {phase["status"]}</td>'
            f"<td>{t(counts)}</td></tr>"
        )
    return (
        '<section id="phases"><h2>Phases</h2><table><tr><th>phase</th><th>status</th><th>steps</th></tr>'
        + "".join(rows)
        + "</table></section>"
    )


def _steps(result, curls, t) -> str:
    rows = []
    for s in result.steps:
        details = "".join(
            f"<div><b>{label}</b> {t(value)}</div>"
            for label, value in (("expected", s.expected), ("got", s.actual), ("fix", s.hint))
            if value
        )
        ident = diagnosis_id(s)
        if ident:
            details += f"<div><b>diagnosis</b> <code>{t(ident)}</code></div>"
        if curls.get(s.id):
            details += f'<div><b>reproduce</b></div><pre class="curl">{t(curls[s.id])}</pre>'
        rows.append(
            f'<tr class="step {s.status}" id="step-{t(s.id)}" data-step="{t(s.id)}">'
            f'<td class="s-{s.status}">{MARK.get(s.status, "")} {s.status}</td><td class="mono">{t(s.id)}</td>'
            f'<td>{t(s.title)}<div class="detail">{details}</div></td>'
            f'<td class="mono ms">{s.duration_ms} ms</td></tr>'
        )
    return (
        '<section id="steps"><h2>Steps (plan order)</h2><table><tr><th>status</th><th>step</th>'
        "<th>what it checks, and what happened</th><th>time</th></tr>" + "".join(rows) + "</table></section>"
    )


def _listing(tree, t) -> str:
    if tree.get("error"):
        return f'<h3>{t(tree["title"])}</h3><p class="muted">{t(tree["error"])}</p>'
    items = []
    for prefix, objects in tree["listing"].items():
        inner = (
            "".join(
                f'<li class="mono">{t(str(o.get("Key", ""))[len(prefix) :])} '
                f'<span class="muted">{t(o.get("Size", "?"))} B</span></li>'
                for o in objects
            )
            or '<li class="muted">(empty)</li>'
        )
        items.append(f'<li class="mono">{t(prefix)}<ul class="tree">{inner}</ul></li>')
    return f'<h3>{t(tree["title"])}</h3><ul class="tree">{"".join(items)}</ul>'


def _state(state, plain) -> str:
    customer = state.world.customer_id

    def t(value) -> str:  # the customer id as {C}, as the console's state views show it
        return plain("—" if value is None else str(value).replace(customer, "{C}"))

    out = ['<section id="state"><h2>State in S3</h2>', f'<p class="muted">{{C}} = {plain(customer)}</p>']
    out += [_listing(tree, t) for tree in state.trees[:1]]
    for change in state.changes:
        out.append(f"<h3>Registry before → after {t(change['step'])} {t(change['title'])}</h3>")
        if change["error"]:
            out.append(f'<p class="muted">{t(change["error"])}</p>')
            continue
        rows = registry_rows(change["before"], change["after"])
        out.append(
            "<table><tr><th>entry</th><th>field</th><th>before</th><th>after</th></tr>"
            + "".join(
                f'<tr{" class=warn" if a != b else ""}><td>{t(e)}</td><td>{t(f)}</td><td class="mono">{t(a)}</td>'
                f'<td class="mono">{t(b)}</td></tr>'
                for e, f, a, b in rows
            )
            + "</table>"
        )
        after = change["after"]
        out.append(
            f"<p><b>Archive</b>: {len(after.archive_objects)} object(s) "
            + " ".join(f'<span class="mono">{t(o.get("Key", ""))}</span>' for o in after.archive_objects)
            + "</p>"
        )
        out.append(f"<p><b>Audit events</b>: {len(after.events)}</p>")
        if after.events:
            out.append(
                "<table><tr><th>time</th><th>actor</th><th>action</th><th>model</th><th>reason</th></tr>"
                + "".join(
                    "<tr>"
                    + "".join(
                        f"<td>{t((e if isinstance(e, dict) else {}).get(k, ''))}</td>"
                        for k in ("timestamp", "actor", "action", "model_id", "reason")
                    )
                    + "</tr>"
                    for e in after.events
                )
                + "</table>"
            )
    refused = state.refusals()
    if refused:
        out.append(
            "<h3>Phase 4: what was refused</h3><table><tr><th>step</th><th>request it sent</th>"
            "<th>refused?</th><th>answer</th></tr>"
            + "".join(
                f'<tr><td class="mono">{t(r.id)}</td><td>{t(r.title)}</td><td class="s-{r.status}">'
                f"{'refused' if r.status in (PASS, WARN) else 'NOT refused' if r.status == FAIL else r.status}"
                f"</td><td>{t(r.actual or r.expected)}</td></tr>"
                for r in refused
            )
            + "</table>"
        )
    out += [_listing(tree, t) for tree in state.trees[1:]]
    out.append("</section>")
    return "\n".join(out)


def _history(history: Sequence[dict], t) -> str:
    runs = list(history)[-20:]
    if not runs:
        return '<section id="history"><h2>Recent runs on this target</h2><p class="muted">none recorded</p></section>'
    top = max(float(r.get("duration_s") or 0) for r in runs) or 1.0
    width, height = 24 * len(runs) + 40, 110
    bars = []
    for i, r in enumerate(runs):
        seconds = float(r.get("duration_s") or 0)
        h = max(2.0, 80 * seconds / top)
        answer = answer_of(r)  # a readiness check: its answer's colour and words, never a failure's
        colour = HTML_COLOURS[answer] if answer else RUN_COLOURS.get(r.get("verdict"), "#d1342f")
        said = f"readiness {label(answer)}" if answer else VERDICTS.get(r.get("verdict"), r.get("verdict"))
        bars.append(
            f'<rect class="run" x="{30 + 24 * i}" y="{90 - h:.1f}" width="18" height="{h:.1f}" '
            f'fill="{colour}"><title>{t(r.get("started"))} {t(r.get("kind", ""))} {t(said)} '
            f"{seconds:.2f} s</title></rect>"
        )
    chart = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
        f'<title>Durations of the last {len(runs)} runs</title><text x="0" y="12">{top:.1f} s</text>'
        f'<line x1="28" y1="90" x2="{width}" y2="90" stroke="#ccd"/>'
        + "".join(bars)
        + ('<text x="30" y="106">oldest</text>' if len(runs) > 1 else "")
        + f'<text x="{max(30, width - 48)}" y="106">this run</text></svg>'
    )
    return (
        f'<section id="history"><h2>Recent runs on this target</h2>{chart}<p class="muted">'
        "green passed, red failed or gate failed, amber interrupted or cancelled; readiness checks: green "
        "ready, purple would be refused, amber not answerable, blue nothing to promote; hover a bar for its time."
        "</p></section>"
    )


__all__ = ["render"]
