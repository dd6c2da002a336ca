"""The promotion gates `ml-promote` meets, judged from what the API and the registry returned; and the one
answer line an engineer acts on. Pure logic: no HTTP, no S3, no printing (plan/phase.py feeds it,
report/phase.py shows it).

The gates are the public record's (docs/platform.md, the promotion gates: the code review and the
operational contract): status `evaluated`, evaluated within 7 days, evaluation verdict `eligible`, no
seasonal regressions, MAE or RMSE improvement >= 5 %, >= 12 backtest windows. Zorora's own ml-promote adds
one before any POST: `/diff`'s verdict against `{C}/production/latest` must be `eligible` (without --force).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

FRESH_DAYS = 7
MIN_IMPROVEMENT_PCT = 5.0
MIN_WINDOWS = 12
READY, REFUSED, UNANSWERABLE = "ready", "refused", "unanswerable"  # an answer's kind
NOTHING = "nothing"  # nothing to promote: the named challenger is production already, or none is evaluated
REASON = "Promote after a passing readiness check"  # a reason of >= 10 characters, for the command

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time read leniently (`Z`, `+00:00`, fractional seconds, no zone = UTC); None if it is not one."""
    match = _ISO.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def age_words(delta: timedelta) -> str:
    """'2 days ago', '5 h ago', '9 days ago' (a future time: 'in the future')."""
    seconds = delta.total_seconds()
    if seconds < -60:
        return "in the future"
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def pct(value: float | None) -> str:
    return "?" if value is None else f"{value:+.1f} %"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def backtest(metrics_answer: Any) -> dict:
    """The `backtest` block of a GET /metrics answer ({model_id, metrics: {backtest: {...}}}); {} when absent."""
    metrics = metrics_answer.get("metrics") if isinstance(metrics_answer, dict) else None
    if metrics is None and isinstance(metrics_answer, dict):  # a server answering the document itself
        metrics = metrics_answer
    block = metrics.get("backtest") if isinstance(metrics, dict) else None
    return block if isinstance(block, dict) else {}


def improvement(production: float | None, challenger: float | None) -> float | None:
    """(production - challenger) / production * 100, as the platform computes it."""
    if production is None or challenger is None or production == 0:
        return None
    return (production - challenger) / production * 100


@dataclasses.dataclass(frozen=True)
class Gate:
    """One gate: its value as read, its limit, whether it passes (None: could not be judged), and what
    ml-promote's refusal would say."""

    name: str
    value: str
    limit: str
    passed: bool | None
    refusal: str = ""
    source: str = ""  # where the value came from

    def to_dict(self) -> dict:
        return {"gate": self.name, "value": self.value, "limit": self.limit, "pass": self.passed, "source": self.source}


def judge(entry: dict, challenger_metrics: Any, production_metrics: Any, diff: Any, now: datetime) -> list[Gate]:
    """The six gates of the public record for the challenger's registry entry (as ml-list-challengers listed
    it) and its and production's metrics (as ml-show-metrics returned them)."""
    gates: list[Gate] = []
    status = entry.get("status")
    gates.append(
        Gate(
            "status",
            str(status),
            "evaluated",
            status == "evaluated",
            f"status is {status!r}, not 'evaluated'",
            "ml-list-challengers",
        )
    )
    evaluated = parse_time(entry.get("evaluated_at"))
    if evaluated is None:
        gates.append(
            Gate(
                f"evaluated within {FRESH_DAYS} days",
                f"evaluated_at {entry.get('evaluated_at')!r}",
                f"<= {FRESH_DAYS} days",
                None,
                "",
                "ml-list-challengers",
            )
        )
    else:
        age = now - evaluated
        gates.append(
            Gate(
                f"evaluated within {FRESH_DAYS} days",
                f"{age_words(age)} ({entry.get('evaluated_at')})",
                f"<= {FRESH_DAYS} days",
                age <= timedelta(days=FRESH_DAYS),
                f"metrics stale (evaluated {age_words(age)}; the gate is {FRESH_DAYS} days)",
                "ml-list-challengers",
            )
        )
    summary = entry.get("evaluation_summary")
    summary = summary if isinstance(summary, dict) else {}
    verdict = summary.get("verdict")
    gates.append(
        Gate(
            "evaluation verdict",
            str(verdict),
            "eligible",
            verdict == "eligible",
            f"its evaluation verdict is {verdict!r}, not 'eligible'",
            "registry entry",
        )
    )
    seasonal = summary.get("seasonal_regressions")
    shown = "none" if not seasonal else json.dumps(seasonal, sort_keys=True)
    gates.append(
        Gate("no seasonal regression", shown, "none", not seasonal, f"seasonal regression ({shown})", "registry entry")
    )
    gates.append(_improvement_gate(challenger_metrics, production_metrics, diff, summary))
    windows = _number(backtest(challenger_metrics).get("windows"))
    if windows is None:
        gates.append(Gate("backtest windows", "missing", f">= {MIN_WINDOWS}", None, "", "ml-show-metrics"))
    else:
        gates.append(
            Gate(
                "backtest windows",
                f"{windows:g}",
                f">= {MIN_WINDOWS}",
                windows >= MIN_WINDOWS,
                f"{windows:g} backtest windows (the gate is {MIN_WINDOWS})",
                "ml-show-metrics",
            )
        )
    return gates


def entry_eligibility(entry: dict, now: datetime) -> str:
    """Another listed challenger, judged by its registry entry alone (status, freshness, verdict, seasonal)."""
    failed = [g for g in judge(entry, None, None, None, now)[:4] if g.passed is not True]
    if not failed:
        return "passes the registry's gates (metrics not read)"
    return "not eligible: " + (failed[0].refusal or f"{failed[0].name} unknown ({failed[0].value})")


def _improvement_gate(challenger_metrics: Any, production_metrics: Any, diff: Any, summary: dict) -> Gate:
    c, p = backtest(challenger_metrics), backtest(production_metrics)
    mae, rmse = (improvement(_number(p.get(k)), _number(c.get(k))) for k in ("mae", "rmse"))
    source = "ml-show-metrics (challenger, production)"
    if mae is None and rmse is None and isinstance(diff, dict) and isinstance(diff.get("improvement"), dict):
        mae, rmse = (_number(diff["improvement"].get(k)) for k in ("mae_pct", "rmse_pct"))
        source = "ml-diff"
    if mae is None and rmse is None:
        return Gate(
            "MAE or RMSE improvement", "unknown (metrics missing)", f">= {MIN_IMPROVEMENT_PCT:g} %", None, "", ""
        )
    passed = any(v is not None and v >= MIN_IMPROVEMENT_PCT for v in (mae, rmse))
    value = f"MAE {pct(mae)}, RMSE {pct(rmse)}"
    return Gate(
        "MAE or RMSE improvement",
        value,
        f">= {MIN_IMPROVEMENT_PCT:g} %",
        passed,
        f"improvement below {MIN_IMPROVEMENT_PCT:g} % ({value})",
        source,
    )


def diff_words(diff: Any) -> str:
    if not isinstance(diff, dict):
        return "no answer"
    imp = diff.get("improvement")
    imp = imp if isinstance(imp, dict) else {}
    regressions = diff.get("regressions") or []
    return (
        f"{diff.get('verdict')}, MAE {pct(_number(imp.get('mae_pct')))}, RMSE {pct(_number(imp.get('rmse_pct')))}, "
        f"{len(regressions)} regression(s)" + (f": {'; '.join(map(str, regressions[:3]))}" if regressions else "")
    )


@dataclasses.dataclass
class Answer:
    kind: str  # READY, REFUSED, UNANSWERABLE, NOTHING
    line: str  # the one line: starts with ✓, ✗, ⚠ or ℹ (NOTHING)
    command: str = ""  # ready: the ml-promote line to type
    warnings: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def answer(customer: str, challenger: str | None, gates: list[Gate], diff: Any, missing: str | None = None) -> Answer:
    """The answer: `missing` (what could not be read, with what to check) makes it not answerable; else a
    failed gate, then /diff's verdict (Zorora's ml-promote checks it before sending), make it refused."""
    if missing:
        return Answer(UNANSWERABLE, f"⚠ not answerable for {customer}: {missing}")
    promote = f"ml-promote {customer} {challenger}"
    verdict = diff.get("verdict") if isinstance(diff, dict) else None
    failed = [g for g in gates if g.passed is False]
    warnings = []
    if failed and verdict == "eligible":
        warnings.append(f"the diff says eligible, but {failed[0].refusal}: the promote gate refuses it")
    if not failed and verdict not in (None, "eligible"):
        warnings.append(
            f"every gate passes by the registry and the metrics, but the diff says {verdict!r}: "
            "Zorora's ml-promote stops there before sending (unless --force)"
        )
    if failed:
        more = f" (and {len(failed) - 1} more: {', '.join(g.name for g in failed[1:])})" if len(failed) > 1 else ""
        return Answer(REFUSED, f"✗ {promote} would be refused: {failed[0].refusal}{more}", warnings=warnings)
    unknown = [g for g in gates if g.passed is None]
    if unknown:
        return Answer(
            UNANSWERABLE,
            f"⚠ not answerable for {customer}: {unknown[0].name} could not be read "
            f"({unknown[0].value}); check ml-show-metrics {challenger}",
            warnings=warnings,
        )
    if verdict != "eligible":
        return Answer(
            REFUSED,
            f"✗ {promote} would be refused: ml-diff says {verdict!r} and Zorora's ml-promote "
            "stops there (without --force)",
            warnings=warnings,
        )
    by_name = {g.name: g for g in gates}
    fresh = by_name[f"evaluated within {FRESH_DAYS} days"].value.split(" (")[0]
    line = (
        f"✓ ready: {promote} would pass every gate ({by_name['MAE or RMSE improvement'].value}, "
        f"{by_name['backtest windows'].value} windows, evaluated {fresh})"
    )
    return Answer(READY, line, command=f'{promote} "{REASON}"', warnings=warnings)


__all__ = [
    "Answer",
    "Gate",
    "NOTHING",
    "READY",
    "REFUSED",
    "UNANSWERABLE",
    "age_words",
    "answer",
    "backtest",
    "diff_words",
    "entry_eligibility",
    "judge",
    "parse_time",
]
