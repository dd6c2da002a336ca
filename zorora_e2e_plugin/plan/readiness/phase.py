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
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ...config.readiness_target import ReadinessTarget
from ...core import catalogue
from ...core.diagnosis import joined
from ...core.outcomes import StepFailed, StepSkipped, StepWarning
from ...core.steps import Phase, Step
from ...s3.store import StoreError
from ..calls import MetricsError, call
from .gates import (
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
    challenger: Optional[str] = None
    entry: Optional[Dict] = None
    others: List[Dict] = dataclasses.field(default_factory=list)
    listed: Optional[List[str]] = None  # the model ids ml-list-challengers answered
    registry: Optional[Dict] = None
    production: Optional[Dict] = None
    last_events: Dict[str, Dict] = dataclasses.field(default_factory=dict)  # "promote"/"rollback" -> event
    challenger_metrics: Any = None
    production_metrics: Any = None
    diff: Any = None
    diff_error: str = ""
    diff_hint: Any = None  # the diagnosis of 6.5's failure (ml-promote would fail before POST /promote)
    missing: Dict[str, str] = dataclasses.field(default_factory=dict)  # step id -> what could not be read
    registry_found: Optional[bool] = None  # 6.2: the customer has a registry in S3 (None: not read)
    listing_done: threading.Event = dataclasses.field(default_factory=threading.Event, repr=False)  # 6.1 ended
    unlisted: bool = False  # 6.1: the challenger named is not listed (a typo: 6.3 and 6.5 say nothing of it)
    registry_started: threading.Event = dataclasses.field(default_factory=threading.Event, repr=False)  # 6.2 runs
    registry_read: threading.Event = dataclasses.field(default_factory=threading.Event, repr=False)  # ... ended
    gates: List[Gate] = dataclasses.field(default_factory=list)
    answer: Optional[Answer] = None

    @property
    def customer(self) -> str:
        return self.target.customer_id

    @property
    def registry_key(self) -> str:
        return f"customer_tailored/{self.customer}/latest_model.json"

    @property
    def audit_key(self) -> str:
        return f"audit_logs/{self.customer}/events.json"

    def first_missing(self) -> Optional[str]:
        for key in ("registry", "6.1", "6.3", "6.4", "6.5"):
            if key in self.missing:
                return self.missing[key]
        return None

    def block(self, redact: Callable[[str], str] = lambda text: text) -> Dict:
        """The --json readiness block, every text in it through the run's redactor (servers' answers included)."""
        return _redacted(self._block(), redact)

    def _block(self) -> Dict:
        ans = self.answer or Answer(UNANSWERABLE, f"⚠ not answerable for {self.customer}: the readiness phase "
                                                  "did not finish (see its steps)")
        return {
            "customer_id": self.customer, "challenger_id": self.challenger,
            "challenger_given": self.target.challenger_id is not None,
            "gates": [g.to_dict() for g in self.gates],
            "server_verdict": self.diff.get("verdict") if isinstance(self.diff, dict) else None,  # /diff's own
            "diff": self.diff if isinstance(self.diff, dict) else {"error": self.diff_error or None},
            "production": {k: (self.production or {}).get(k) for k in ("model_id", "promoted_at", "promoted_by")},
            "last_promotion": self.last_events.get("promote"), "last_rollback": self.last_events.get("rollback"),
            "other_challengers": self.others,
            "answer": {"kind": ans.kind, "line": ans.line, "command": ans.command}, "warnings": list(ans.warnings),
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

    def list_challengers(self, customer_id: str) -> Dict:
        return self._client.list_challengers(customer_id)

    def show_metrics(self, model_id: str) -> Dict:
        return self._client.show_metrics(model_id)

    def diff(self, challenger_id: str, production_id: str) -> Dict:
        return self._client.diff(challenger_id, production_id)


PROVES = ("Readiness (--for): will ml-promote pass for this customer now? Reads, and only reads, what ml-promote "
          "will meet: the challenger's status and evaluation, both models' metrics, /diff against production/latest, "
          "the registry and audit log; then judges the promotion gates. Nothing is written or promoted for it.")


def readiness_phase(target: ReadinessTarget) -> Phase:
    listing = Step("6.1", f"ml-list-challengers {target.customer_id}: the challenger, its status and evaluation",
                   step_6_1, sends=("GET /challengers",))
    registry = Step("6.2", "S3, read-only: the registry (production now) and the audit log", step_6_2,
                    sends=("S3 GetObject ×2",))
    challenger = Step("6.3", "ml-show-metrics: the challenger", step_6_3, sends=("GET /metrics/{model}",))
    production = Step("6.4", "ml-show-metrics: production", step_6_4, sends=("GET /metrics/{model}",))
    diff = Step("6.5", "ml-diff: the challenger against production/latest", step_6_5,
                sends=("GET /diff (production_id {customer}/production/latest)",))
    gates = Step("6.6", "The promotion gates, as ml-promote will meet them", step_6_6,
                 quiet="judges what 6.1-6.5 read")
    waves: tuple[tuple[Step, ...], ...]
    if target.challenger_id:  # named: its metrics and the diff need no answer first
        waves = ((listing, registry, challenger, diff), (production,), (gates,))
    else:  # the newest evaluated challenger: known once listed
        waves = ((listing, registry), (challenger, production, diff), (gates,))
    return Phase(PHASE_ID, f"Readiness: will ml-promote {target.customer_id} pass? (read-only)", waves,
                 short="Readiness (read-only)", proves=PROVES)


def _entry_words(entry: Dict, now: datetime) -> str:
    evaluated = parse_time(entry.get("evaluated_at"))
    summary = entry.get("evaluation_summary")
    summary = summary if isinstance(summary, dict) else {}
    when = f"evaluated {age_words(now - evaluated)}" if evaluated else "not evaluated"
    return f"status {entry.get('status')}, {when}, verdict {summary.get('verdict')}"


def step_6_1(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    try:
        return _list(ctx, st)
    finally:
        st.listing_done.set()


def _not_listed(ctx: Context, st: ReadinessState, model: str) -> None:
    """6.3/6.5 failed for the challenger named: when 6.1 (beside them) found it not listed, that is the one
    finding (a typo), and theirs is skipped."""
    if model == st.target.challenger_id and st.listing_done.wait(ctx.settings.timeout * 4 + 2) and st.unlisted:
        raise StepSkipped(actual=f"not judged: {model} is not listed (see 6.1)")


def _list(ctx: Context, st: ReadinessState) -> str:
    c = st.customer
    try:
        listed = call(ReadOnlyCommands(ctx.client).list_challengers, c, route="GET /challengers",
                      expected=f"ml-list-challengers {c} answers")
    except StepFailed as exc:
        fix = ctx.settings.face.hint(exc.hint) if exc.hint else ""  # in the words of the run's face
        st.missing["6.1"] = f"ml-list-challengers {c} failed ({exc.actual}); {fix}".rstrip("; ")
        raise
    entries = [e for e in listed.get("challengers") or [] if isinstance(e, dict)]
    ids = st.listed = [str(e.get("model_id")) for e in entries]
    wanted = st.target.challenger_id
    if wanted:
        entry = next((e for e in entries if e.get("model_id") == wanted), None)
        if entry is None:
            near = [i for i in ids if i.endswith("/" + wanted.split("/")[-1])]
            what = f"did you mean {near[0]}?" if near else (f"listed: {', '.join(ids[:5])}" if ids else "none listed")
            st.missing["6.1"] = (f"challenger {wanted} is unknown (ml-list-challengers {c} does not list it; {what}); "
                                 "check the id")
            st.unlisted = True
            raise StepFailed(f"{wanted} listed", f"not listed ({what})",
                             catalogue.FOR_UNKNOWN_CHALLENGER.fill(wanted=wanted, c=c))
    else:
        evaluated = [e for e in entries if e.get("status") == "evaluated"]
        if not evaluated:
            st.missing["6.1"] = (f"ml-list-challengers {c} lists no evaluated challenger ({len(entries)} listed); "
                                 "check the customer id, or wait for an evaluation")
            known = _known_customer(ctx, st)  # a customer with a registry has no challenger to promote; else a typo?
            if known is False:
                raise StepSkipped(actual=f"not judged: customer {c} has no registry (see 6.2)")
            raise StepFailed("an evaluated challenger", f"{len(entries)} listed, none evaluated"
                             + (f": {', '.join(ids[:5])}" if ids else ""),
                             catalogue.FOR_NO_CHALLENGER.fill(c=c) if known or entries else
                             catalogue.FOR_UNLISTED.fill(c=c))
        entry = max(evaluated, key=lambda e: (parse_time(e.get("evaluated_at")) or datetime.min.replace(
            tzinfo=timezone.utc), str(e.get("trained_at"))))
    st.entry, st.challenger = entry, str(entry.get("model_id"))
    st.others = [{"model_id": e.get("model_id"), "status": e.get("status"), "evaluated_at": e.get("evaluated_at"),
                  "eligibility": entry_eligibility(e, st.now)} for e in entries if e is not entry]
    chosen = "" if wanted else " (the newest evaluated)"
    return f"{st.challenger}{chosen}: {_entry_words(entry, st.now)}; {len(st.others)} other challenger(s)"


def _known_customer(ctx: Context, st: ReadinessState) -> Optional[bool]:
    """Whether the customer has a registry in S3, as 6.2 (beside 6.1) read it; None when it was not read (6.2 did
    not start: a Ctrl-C; or its S3 reads failed or took longer than two S3 requests with their retries may)."""
    if st.registry_started.wait(2):
        st.registry_read.wait(ctx.settings.timeout * 4 + 2)
    return st.registry_found


def step_6_2(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    st.registry_started.set()
    try:
        return _read_registry(ctx, st)
    finally:
        st.registry_read.set()


def _read_registry(ctx: Context, st: ReadinessState) -> str:
    where = f"s3://{st.bucket}/{st.registry_key}"
    try:
        store = ctx.store
        (registry, _raw), (audit, _) = ctx.parallel(lambda: store.get_json(st.registry_key),
                                                    lambda: store.get_json(st.audit_key))
    except StoreError as exc:
        hint = catalogue.for_s3(exc.code).with_lead("the gates are judged from the API's answers; ")
        raise StepWarning(f"{where} readable", f"S3 error {exc}", hint) from None
    st.registry_found = isinstance(registry, dict)
    if not isinstance(registry, dict):
        st.missing["registry"] = (f"customer {st.customer} has no registry ({where} is absent); check the customer "
                                  "id, and that --bucket/OUTPUT_BUCKET is the Lambda's")
        raise StepFailed(f"the customer's registry at {where}", "absent",
                         catalogue.FOR_UNKNOWN_CUSTOMER.fill(c=st.customer, where=where))
    st.registry = registry
    production = registry.get("production") if isinstance(registry.get("production"), dict) else {}
    st.production = production
    events = (audit or {}).get("events") if isinstance(audit, dict) else None
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("action") in ("promote", "rollback"):
            st.last_events[event["action"]] = event  # the log is in order: the last one wins
    parts = [f"production {production.get('model_id')} (promoted {production.get('promoted_at')} by "
             f"{production.get('promoted_by')})" if production else "no production model"]
    for action in ("promote", "rollback"):
        event = st.last_events.get(action)
        when = parse_time((event or {}).get("timestamp"))
        parts.append(f"last {action}: " + (f"{age_words(st.now - when) if when else event.get('timestamp')} by "
                                           f"{event.get('actor')}" if event else "none"))
    return "; ".join(parts)


def _metrics(ctx: Context, model_id: str, step: str, what: str) -> Dict:
    st: ReadinessState = ctx.readiness
    try:
        return call(ReadOnlyCommands(ctx.client).show_metrics, model_id, route="GET /metrics",
                    expected=f"ml-show-metrics {model_id} answers")
    except MetricsError as exc:
        _not_listed(ctx, st, model_id)
        error = exc.error
        hint = catalogue.for_error(error, "GET /metrics")
        if error.status == 404:
            st.missing[step] = (f"metrics are missing for {what} {model_id} (ml-show-metrics: HTTP 404); check "
                                f"model_metrics/{model_id.split('/')[0]}/{model_id}/backtest_results.json or the "
                                "entry's metrics_ref")
            if not catalogue.is_gateway_404(404, error.body, error.headers):  # the Lambda's: no metrics for it
                hint = catalogue.FOR_NO_METRICS.fill(model=model_id, c=model_id.split("/")[0])
        else:
            st.missing[step] = f"ml-show-metrics {model_id} failed ({error.message})"
        raise StepFailed("its backtest metrics", f"{'HTTP %s: ' % error.status if error.status else ''}{error.message}",
                         hint) from None
    except StepFailed as exc:
        _not_listed(ctx, st, model_id)
        st.missing[step] = f"ml-show-metrics {model_id} failed ({exc.actual})"
        raise


def _backtest_words(answer_: Dict) -> str:
    b = backtest(answer_)
    return f"MAE {b.get('mae')}, RMSE {b.get('rmse')}, {b.get('windows')} windows" if b else "no backtest block"


def step_6_3(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    model = st.challenger or st.target.challenger_id
    if not model:
        raise StepSkipped(actual="no challenger to read (6.1)")
    st.challenger_metrics = _metrics(ctx, model, "6.3", "challenger")
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
    try:
        st.diff = call(ReadOnlyCommands(ctx.client).diff, model, alias, route="GET /diff",
                       expected=f"ml-diff {model} {alias} answers")
    except StepFailed as exc:
        _not_listed(ctx, st, model)
        st.diff_error = exc.actual
        st.diff_hint = joined([exc.hint, catalogue.LATEST_ALIAS])
        raise StepFailed(exc.expected, exc.actual, st.diff_hint) from None
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
    return (f"ml-list-challengers {st.customer} lists {len(st.listed)} challenger(s), the registry in "
            f"s3://{st.bucket}/{st.registry_key} holds {len(in_s3)}: the Lambda may read another bucket or region than "
            f"--bucket/OUTPUT_BUCKET ({st.bucket}); check its OUTPUT_BUCKET")


def step_6_6(ctx: Context) -> str:
    st: ReadinessState = ctx.readiness
    differs = _same_registry(st)
    if differs and not st.listed:  # nothing listed: the API does not see this registry at all
        st.missing["6.1"] = differs
    missing = st.first_missing()
    st.gates = judge(st.entry, st.challenger_metrics, st.production_metrics, st.diff, st.now) if st.entry else []
    result = answer(st.customer, st.challenger, st.gates, st.diff, missing)
    if result.kind != UNANSWERABLE and st.diff_error:
        result = Answer(REFUSED, f"✗ ml-promote {st.customer} {st.challenger} would fail before POST /promote: "
                                 f"its ml-diff against {st.customer}/production/latest fails ({st.diff_error})",
                        warnings=result.warnings)
    if differs and differs not in (missing or ""):
        result.warnings.append(differs)
    st.answer = result
    text = result.line[2:]
    if result.kind == UNANSWERABLE:
        raise StepSkipped(actual=text)
    if result.kind == REFUSED:  # the challenger's own state (the model's), unless ml-diff itself fails (6.5's)
        raise StepFailed("every gate ml-promote meets passes", text,
                         st.diff_hint if st.diff_error and st.diff_hint else catalogue.FOR_GATES)
    return text


__all__ = ["PHASE_ID", "ReadOnlyCommands", "ReadinessState", "readiness_phase"]
