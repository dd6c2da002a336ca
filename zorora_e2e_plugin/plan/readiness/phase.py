"""Phase 6, readiness (`--preflight-only --for CUSTOMER [CHALLENGER_ID]`, not in the user's plan): after the
gate, will `ml-promote CUSTOMER CHALLENGER_ID` work now, and will its gates let it through?

Strictly read-only for the named customer: through a `ReadOnlyCommands` view of the run's client (the
engineer's ml-list-challengers, ml-show-metrics and ml-diff, and nothing that can promote) and GETs of its
registry and audit log with the run's S3 client. Two round trips: what needs no answer first goes out at
once (the listing, the registry and audit log, and, when the challenger was named, its metrics and the
diff), then what needs one (production's metrics: its id is in the registry). 6.6 judges the gates
(gates.py) without a request.

`ReadinessState` is what its steps learn as they run (`ctx.readiness`), the answer 6.6 gives, and the --json
readiness block made of them.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from ...config.readiness_target import ReadinessTarget
from ...core import catalogue
from ...core.diagnosis import joined
from ...core.outcomes import StepFailed, StepSkipped, StepWarning
from ...core.steps import Phase, Step
from ...s3.store import StoreError
from ..calls import MetricsError, call
from .gates import (
    NOTHING,
    REFUSED,
    UNANSWERABLE,
    Answer,
    Gate,
    age_words,
    answer,
    backtest,
    entry_eligibility,
    judge,
    parse_time,
)

if TYPE_CHECKING:
    from ...client import OnaClient
    from ..context import Context


@dataclasses.dataclass
class ReadinessState:
    """What the readiness steps learned (ctx.readiness), and the answer 6.6 gave."""

    target: ReadinessTarget
    bucket: str
    now: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc))
    challenger: str | None = None
    entry: dict | None = None
    others: list[dict] = dataclasses.field(default_factory=list)
    listed: list[str] | None = None  # the model ids ml-list-challengers answered
    registry: dict | None = None
    production: dict | None = None
    last_events: dict[str, dict] = dataclasses.field(default_factory=dict)  # "promote"/"rollback" -> event
    challenger_metrics: Any = None
    production_metrics: Any = None
    diff: Any = None
    diff_error: str = ""
    diff_hint: Any = None  # the diagnosis of 6.5's failure (ml-promote would fail before POST /promote)
    missing: dict[str, str] = dataclasses.field(default_factory=dict)  # step id -> what could not be read
    gates: list[Gate] = dataclasses.field(default_factory=list)
    answer: Answer | None = None
    not_listed: str | None = None  # the named challenger, when ml-list-challengers does not list it
    listing_read: threading.Event = dataclasses.field(default_factory=threading.Event)  # 6.1 is over
    registry_read: threading.Event = dataclasses.field(default_factory=threading.Event)  # 6.2 is over

    @property
    def customer(self) -> str:
        return self.target.customer_id

    @property
    def registry_key(self) -> str:
        return f"customer_tailored/{self.customer}/latest_model.json"

    @property
    def audit_key(self) -> str:
        return f"audit_logs/{self.customer}/events.json"

    def production_since(self) -> tuple[str, str]:
        """(since when, by whom) production is what it is: its rollback when it came back by one, else its
        promotion."""
        p = self.production or {}
        if p.get("rollback_at"):
            return str(p.get("rollback_at")), str(p.get("rolled_back_by"))
        return str(p.get("promoted_at")), str(p.get("promoted_by"))

    def wait(self, event: threading.Event, ctx: Context) -> None:
        """Until another step of the same wave is over (6.1 <-> 6.2, 6.3/6.5 -> 6.1), as long as its requests may
        take."""
        event.wait(ctx.settings.timeout * 4 + 2)

    def first_missing(self) -> str | None:
        for key in ("registry", "6.1", "6.3", "6.4", "6.5"):
            if key in self.missing:
                return self.missing[key]
        return None

    def block(self, redact: Callable[[str], str] = lambda text: text) -> dict:
        """The --json readiness block, every text in it through the run's redactor (servers' answers included)."""
        return _redacted(self._block(), redact)

    def _block(self) -> dict:
        ans = self.answer or Answer(
            UNANSWERABLE, f"⚠ not answerable for {self.customer}: the readiness phase did not finish (see its steps)"
        )
        return {
            "customer_id": self.customer,
            "challenger_id": self.challenger or self.target.challenger_id,
            "challenger_given": self.target.challenger_id is not None,
            "gates": [g.to_dict() for g in self.gates],
            "server_verdict": self.diff.get("verdict") if isinstance(self.diff, dict) else None,  # /diff's own
            "diff": self.diff if isinstance(self.diff, dict) else {"error": self.diff_error or None},
            "production": {k: (self.production or {}).get(k) for k in ("model_id", "promoted_at", "promoted_by")},
            "last_promotion": self.last_events.get("promote"),
            "last_rollback": self.last_events.get("rollback"),
            "other_challengers": self.others,
            "answer": {"kind": ans.kind, "line": ans.line, "command": ans.command},
            "warnings": list(ans.warnings),
        }


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, redact) for v in value]
    return value


PHASE_ID = 6


class ReadOnlyCommands:
    """The run's client with only the three reads a readiness check needs: it has no promote or rollback."""

    def __init__(self, client: OnaClient) -> None:
        self._client = client

    def list_challengers(self, customer_id: str) -> dict:
        return self._client.list_challengers(customer_id)

    def show_metrics(self, model_id: str) -> dict:
        return self._client.show_metrics(model_id)

    def diff(self, challenger_id: str, production_id: str) -> dict:
        return self._client.diff(challenger_id, production_id)


PROVES = (
    "Readiness (--for): will ml-promote pass for this customer now? Reads, and only reads, what ml-promote "
    "will meet: the challenger's status and evaluation, both models' metrics, /diff against production/latest, "
    "the registry and audit log; then judges the promotion gates. Nothing is written or promoted for it."
)


def readiness_phase(target: ReadinessTarget) -> Phase:
    listing = Step(
        "6.1",
        f"ml-list-challengers {target.customer_id}: the challenger, its status and evaluation",
        step_6_1,
        sends=("GET /challengers",),
    )
    registry = Step(
        "6.2", "S3, read-only: the registry (production now) and the audit log", step_6_2, sends=("S3 GetObject ×2",)
    )
    challenger = Step("6.3", "ml-show-metrics: the challenger", step_6_3, sends=("GET /metrics/{model}",))
    production = Step("6.4", "ml-show-metrics: production", step_6_4, sends=("GET /metrics/{model}",))
    diff = Step(
        "6.5",
        "ml-diff: the challenger against production/latest",
        step_6_5,
        sends=("GET /diff (production_id {customer}/production/latest)",),
    )
    gates = Step("6.6", "The promotion gates, as ml-promote will meet them", step_6_6, quiet="judges what 6.1-6.5 read")
    waves: tuple[tuple[Step, ...], ...]
    if target.challenger_id:  # named: its metrics and the diff need no answer first
        waves = ((listing, registry, challenger, diff), (production,), (gates,))
    else:  # the newest evaluated challenger: known once listed
        waves = ((listing, registry), (challenger, production, diff), (gates,))
    return Phase(
        PHASE_ID,
        f"Readiness: will ml-promote {target.customer_id} pass? (read-only)",
        waves,
        short="Readiness (read-only)",
        proves=PROVES,
    )


def _entry_words(entry: dict, now: datetime) -> str:
    evaluated = parse_time(entry.get("evaluated_at"))
    summary = entry.get("evaluation_summary")
    summary = summary if isinstance(summary, dict) else {}
    when = f"evaluated {age_words(now - evaluated)}" if evaluated else "not evaluated"
    return f"status {entry.get('status')}, {when}, verdict {summary.get('verdict')}"


def step_6_1(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    try:
        return _listing(ctx, st)
    finally:
        st.listing_read.set()


def _listing(ctx: Context, st: ReadinessState) -> str:
    c = st.customer
    try:
        listed = call(
            ReadOnlyCommands(ctx.client).list_challengers,
            c,
            route="GET /challengers",
            expected=f"ml-list-challengers {c} answers",
        )
    except StepFailed as exc:
        fix = ctx.settings.face.hint(exc.hint) if exc.hint else ""  # in the words of the run's face
        st.missing["6.1"] = f"ml-list-challengers {c} failed ({exc.actual}); {fix}".rstrip("; ")
        raise
    entries = [e for e in listed.get("challengers") or [] if isinstance(e, dict)]
    ids = st.listed = [str(e.get("model_id")) for e in entries]
    wanted = st.target.challenger_id
    if wanted:
        entry = next((e for e in entries if e.get("model_id") == wanted), None)
        if entry is None:  # promoted already (6.2 reads the registry meanwhile), or not a challenger at all
            st.not_listed, st.others = wanted, _others(entries, None, st.now)
            st.wait(st.registry_read, ctx)
            if (st.production or {}).get("model_id") == wanted:
                since, by = st.production_since()
                return (
                    f"{wanted} is production now (since {since}, by {by}), not a challenger; {_listed_words(entries)}"
                )
            near = [i for i in ids if i.endswith("/" + wanted.split("/")[-1])]
            what = f"did you mean {near[0]}?" if near else (f"listed: {', '.join(ids[:5])}" if ids else "none listed")
            st.missing["6.1"] = (
                f"challenger {wanted} is unknown (ml-list-challengers {c} does not list it; {what}); check the id"
            )
            raise StepWarning(
                f"{wanted} listed", f"not listed ({what})", catalogue.FOR_UNKNOWN_CHALLENGER.fill(wanted=wanted, c=c)
            )
    else:
        evaluated = [e for e in entries if e.get("status") == "evaluated"]
        if not evaluated:  # nothing to promote (6.6 says so with what production is): a fact, not a failure
            st.others = _others(entries, None, st.now)
            return f"no evaluated challenger: {_listed_words(entries)}"
        entry = max(
            evaluated,
            key=lambda e: (
                parse_time(e.get("evaluated_at")) or datetime.min.replace(tzinfo=timezone.utc),
                str(e.get("trained_at")),
            ),
        )
    st.entry, st.challenger = entry, str(entry.get("model_id"))
    st.others = _others(entries, entry, st.now)
    chosen = "" if wanted else " (the newest evaluated)"
    return f"{st.challenger}{chosen}: {_entry_words(entry, st.now)}; {len(st.others)} other challenger(s)"


def _others(entries: list[dict], entry: dict | None, now: datetime) -> list[dict]:
    """The listed challengers other than `entry`, each with its eligibility by its entry alone."""
    return [
        {
            "model_id": e.get("model_id"),
            "status": e.get("status"),
            "evaluated_at": e.get("evaluated_at"),
            "eligibility": entry_eligibility(e, now),
        }
        for e in entries
        if e is not entry
    ]


def _listed_words(entries: list[dict]) -> str:
    """'2 challengers listed (1 evaluated, 1 training)', 'no challenger listed'."""
    if not entries:
        return "no challenger listed"
    counts: dict[str, int] = {}
    for e in entries:
        counts[str(e.get("status"))] = counts.get(str(e.get("status")), 0) + 1
    kinds = ", ".join(f"{n} {status}" for status, n in counts.items())
    return f"{len(entries)} challenger{'s' if len(entries) != 1 else ''} listed ({kinds})"


def step_6_2(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    try:
        return _registry(ctx, st)
    finally:
        st.registry_read.set()


def _registry(ctx: Context, st: ReadinessState) -> str:
    where = f"s3://{st.bucket}/{st.registry_key}"
    try:
        store = ctx.store
        (registry, _raw), (audit, _) = ctx.parallel(
            lambda: store.get_json(st.registry_key), lambda: store.get_json(st.audit_key)
        )
    except StoreError as exc:
        hint = catalogue.for_s3(exc.code).with_lead("the gates are judged from the API's answers; ")
        raise StepWarning(f"{where} readable", f"S3 error {exc}", hint) from None
    if not isinstance(registry, dict):
        st.missing["registry"] = (
            f"customer {st.customer} has no registry ({where} is absent); check the customer "
            "id, and that --bucket/OUTPUT_BUCKET is the Lambda's"
        )
        raise StepFailed(
            f"the customer's registry at {where}",
            "absent",
            catalogue.FOR_UNKNOWN_CUSTOMER.fill(c=st.customer, where=where),
        )
    st.registry = registry
    production = registry.get("production") if isinstance(registry.get("production"), dict) else {}
    st.production = production
    events = (audit or {}).get("events") if isinstance(audit, dict) else None
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("action") in ("promote", "rollback"):
            st.last_events[event["action"]] = event  # the log is in order: the last one wins
    parts = [
        f"production {production.get('model_id')} (promoted {production.get('promoted_at')} by "
        f"{production.get('promoted_by')})"
        if production
        else "no production model"
    ]
    for action in ("promote", "rollback"):
        event = st.last_events.get(action)
        when = parse_time((event or {}).get("timestamp"))
        parts.append(
            f"last {action}: "
            + (
                f"{age_words(st.now - when) if when else event.get('timestamp')} by {event.get('actor')}"
                if event
                else "none"
            )
        )
    return "; ".join(parts)


def _metrics(ctx: Context, model_id: str, step: str, what: str) -> dict:
    st: ReadinessState = ctx.readiness
    try:
        return call(
            ReadOnlyCommands(ctx.client).show_metrics,
            model_id,
            route="GET /metrics",
            expected=f"ml-show-metrics {model_id} answers",
        )
    except MetricsError as exc:
        error = exc.error
        hint = catalogue.for_error(error, "GET /metrics")
        if error.status == 404:
            st.missing[step] = (
                f"metrics are missing for {what} {model_id} (ml-show-metrics: HTTP 404); check "
                f"model_metrics/{model_id.split('/')[0]}/{model_id}/backtest_results.json or the "
                "entry's metrics_ref"
            )
            if not catalogue.is_gateway_404(404, error.body, error.headers):  # the Lambda's: no metrics for it
                hint = catalogue.FOR_NO_METRICS.fill(model=model_id, c=model_id.split("/")[0])
        else:
            st.missing[step] = f"ml-show-metrics {model_id} failed ({error.message})"
        raise StepFailed(
            "its backtest metrics", f"{f'HTTP {error.status}: ' if error.status else ''}{error.message}", hint
        ) from None
    except StepFailed as exc:
        st.missing[step] = f"ml-show-metrics {model_id} failed ({exc.actual})"
        raise


def _backtest_words(answer_: dict) -> str:
    b = backtest(answer_)
    return f"MAE {b.get('mae')}, RMSE {b.get('rmse')}, {b.get('windows')} windows" if b else "no backtest block"


def _as_challenger(ctx: Context, step: str, read: Callable[[], Any]) -> Any:
    """`read()` for the challenger. A named one is read while 6.1 lists the challengers: what came back counts
    only once 6.1 has listed it (an id that is production now, or unknown, is 6.1's to say)."""
    st: ReadinessState = ctx.readiness
    if st.target.challenger_id is None:
        return read()
    try:
        value = read()
    except (StepFailed, StepWarning):
        st.wait(st.listing_read, ctx)
        if st.not_listed is None:
            raise
        value = None
    st.wait(st.listing_read, ctx)
    if st.not_listed is not None:
        st.missing.pop(step, None)
        raise StepSkipped(actual=f"not judged: {st.not_listed} is not a challenger (see 6.1)")
    return value


def step_6_3(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    model = st.challenger or st.target.challenger_id
    if not model:
        raise StepSkipped(actual="no challenger to read (6.1)")
    st.challenger_metrics = _as_challenger(ctx, "6.3", lambda: _metrics(ctx, model, "6.3", "challenger"))
    return _backtest_words(st.challenger_metrics)


def step_6_4(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    model = (st.production or {}).get("model_id")
    if not model and isinstance(st.diff, dict) and not str(st.diff.get("production_id", "")).endswith("/latest"):
        model = st.diff.get("production_id")  # the registry was not readable: the diff resolved the alias
    if not model:
        st.missing.setdefault("6.4", f"customer {st.customer} has no production model to compare with")
        raise StepSkipped(actual="no production model id (6.2)")
    st.production_metrics = _metrics(ctx, str(model), "6.4", "production")
    return f"{model}: {_backtest_words(st.production_metrics)}"


def step_6_5(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    model = st.challenger or st.target.challenger_id
    if not model:
        raise StepSkipped(actual="no challenger to compare (6.1)")
    alias = f"{st.customer}/production/latest"  # what Zorora's ml-promote sends

    def diff() -> dict:
        try:
            return call(
                ReadOnlyCommands(ctx.client).diff,
                model,
                alias,
                route="GET /diff",
                expected=f"ml-diff {model} {alias} answers",
            )
        except StepFailed as exc:
            raise StepFailed(exc.expected, exc.actual, joined([exc.hint, catalogue.LATEST_ALIAS])) from None

    try:
        st.diff = _as_challenger(ctx, "6.5", diff)
    except StepFailed as exc:
        st.diff_error, st.diff_hint = exc.actual, exc.hint
        raise
    from .gates import diff_words

    return f"against {st.diff.get('production_id')}: {diff_words(st.diff)}"


def _same_registry(st: ReadinessState) -> str:
    """'' when the API's listing and the registry in S3 name the same challengers; else what differs (the
    Lambda reading another bucket or region than --bucket/OUTPUT_BUCKET)."""
    if st.listed is None or st.registry is None:
        return ""
    in_s3 = [str(e.get("model_id")) for e in st.registry.get("challengers") or [] if isinstance(e, dict)]
    if sorted(in_s3) == sorted(st.listed):
        return ""
    return (
        f"ml-list-challengers {st.customer} lists {len(st.listed)} challenger(s), the registry in "
        f"s3://{st.bucket}/{st.registry_key} holds {len(in_s3)}: the Lambda may read another bucket or region than "
        f"--bucket/OUTPUT_BUCKET ({st.bucket}); check its OUTPUT_BUCKET"
    )


def _nothing_to_promote(st: ReadinessState) -> Answer | None:
    """The answer when there is no challenger to promote: the one named is production already, or none is
    evaluated (after a promotion, the usual state). Read from the registry as it is now."""
    production = st.production or {}
    since, by = st.production_since()
    if st.not_listed is not None and production.get("model_id") == st.not_listed:
        return Answer(
            NOTHING, f"ℹ {st.not_listed} is already in production (since {since}, by {by}): nothing to promote"
        )
    if st.target.challenger_id is None and st.entry is None and st.listed is not None:
        now = (
            f"production is {production.get('model_id')} since {since}"
            if production.get("model_id")
            else "no production model yet"
        )
        waiting = [e for e in st.others if e.get("status") != "evaluated"]
        none = f"none is evaluated ({len(waiting)} still {_statuses(waiting)})" if waiting else "none is listed"
        return Answer(NOTHING, f"ℹ no challenger to promote for {st.customer}: {none}; {now}")
    return None


def _statuses(entries: list[dict]) -> str:
    return " or ".join(dict.fromkeys(str(e.get("status")) for e in entries))


def step_6_6(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    differs = _same_registry(st)
    if differs and not st.listed:  # nothing listed: the API does not see this registry at all
        st.missing["6.1"] = differs
    missing = st.first_missing()
    nothing = None if missing else _nothing_to_promote(st)
    if nothing is not None:  # promoted already, or no evaluated challenger: nothing to judge
        nothing.warnings.extend([differs] if differs else [])
        st.answer = nothing
        raise StepSkipped(actual="not judged: nothing to promote")  # the answer says what production is
    st.gates = judge(st.entry, st.challenger_metrics, st.production_metrics, st.diff, st.now) if st.entry else []
    result = answer(st.customer, st.challenger, st.gates, st.diff, missing)
    if result.kind != UNANSWERABLE and st.diff_error:
        result = Answer(
            REFUSED,
            f"✗ ml-promote {st.customer} {st.challenger} would fail before POST /promote: "
            f"its ml-diff against {st.customer}/production/latest fails ({st.diff_error})",
            warnings=result.warnings,
        )
    if differs and differs not in (missing or ""):
        result.warnings.append(differs)
    st.answer = result
    text = result.line[2:]
    if result.kind == UNANSWERABLE:
        raise StepSkipped(actual=text)
    if result.kind == REFUSED:  # the challenger's own state (the model's), unless ml-diff itself fails (6.5's)
        raise StepFailed(
            "every gate ml-promote meets passes",
            text,
            st.diff_hint if st.diff_error and st.diff_hint else catalogue.FOR_GATES,
        )
    return text


__all__ = ["PHASE_ID", "ReadOnlyCommands", "ReadinessState", "readiness_phase"]
