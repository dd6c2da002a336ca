"""Phase 3: ml-promote and ml-rollback, with the S3 state (registry, archive, audit log) checked after each."""

from __future__ import annotations

import re
from typing import Any

from ..client import Cancelled, OnaError
from ..core import catalogue
from ..core.diagnosis import Diagnosis
from ..core.outcomes import StepFailed, StepSkipped
from ..s3.customer_state import S3State
from ..wire.retries import begin_step_log, step_log
from . import archives as archive
from .calls import call, read_state
from .context import Checks, Context
from .seed_data import PROMOTE_REASON, ROLLBACK_REASON
from .settle import settled


def _actor_hint(recorded: Any, actor: str) -> Diagnosis | None:
    """The run sends the test actor in the body and in X-Actor: any other recorded actor is a third one."""
    if recorded != actor:
        return catalogue.THIRD_ACTOR.fill(recorded=recorded, actor=actor)
    return None


def step_3_1(ctx: Context) -> str:
    w, actor = ctx.world, ctx.settings.actor
    ctx.archives.stale = True
    try:
        answer = settled(
            ctx,
            lambda: ctx.client.promote(w.customer_id, w.challenger_model_id, PROMOTE_REASON),
            lambda state: _production_id(state) == w.challenger_model_id,
            "POST /promote",
        )
    except Cancelled as exc:
        raise StepFailed("the promotion is sent", exc.message, catalogue.CONFIRM_RESET) from None
    except OnaError as exc:
        text = exc.message + " " + exc.body
        hint = catalogue.for_error(exc, "a route ml-promote calls (GET /challengers, GET /diff, POST /promote)")
        if "production/latest" in text:
            hint = catalogue.LATEST_ALIAS
        elif exc.status == 404 and "metrics" in text.lower():  # the alias, unless phase 2 saw the lookup fail
            hint = (
                catalogue.METRICS_KEY_AGAIN.fill(where="GET /diff during ml-promote", step=ctx.metrics_missing)
                if ctx.metrics_missing
                else catalogue.LATEST_ALIAS
            )
        raise StepFailed(
            "ml-promote succeeds", f"{f'HTTP {exc.status}: ' if exc.status else ''}{exc.message}", hint
        ) from None
    result = answer.get("result") or {}
    # 3.2's ml-audit-log goes out beside the S3 reads (one round trip for both); 3.2 judges what came back
    state, ctx.audit_after_promote = ctx.parallel(
        lambda: read_state(ctx, with_archives=True), lambda: _audit_log_answer(ctx)
    )
    registry, events, archives = state.registry, state.events, state.archives
    ctx.archives.listed(archives)
    production = registry.get("production") or {}
    checks = Checks(
        catalogue.ANSWER_DIFFERS.fill(
            route="POST /promote", what="the promotion, as the plan's S3 tree has it after step 3.1"
        )
    )
    settled_note(checks, answer, "promotion", "ml-promote", "POST /promote")
    if not answer.note:
        checks.that("promoted_at" in result or "message" in result, "the answer has promoted_at or message", result)
    checks.equal(
        "registry production.model_id",
        production.get("model_id"),
        w.challenger_model_id,
        catalogue.NOT_PERSISTED.fill(what="promotion", change="did not change"),
    )
    checks.that("promoted_at" in production, "production.promoted_at is set", production)
    checks.equal(
        "production.promoted_by",
        production.get("promoted_by"),
        actor,
        _actor_hint(production.get("promoted_by"), actor),
    )
    checks.equal("len(registry challengers)", len(registry.get("challengers") or []), 0, catalogue.CHALLENGER_KEPT)
    if checks.equal(
        "archived production objects",
        len(archives),
        1,
        catalogue.NO_ARCHIVE.fill(customer=w.customer_id) if not archives else None,
    ):
        archive.judge(
            ctx,
            checks,
            archives,
            archive.Archived(w.production_model_id, "superseded"),
            catalogue.ARCHIVE_WRONG.fill(key=archives[0]),
            content=False,
        )
    if checks.equal(
        "audit events", len(events), 1, catalogue.NO_AUDIT.fill(customer=w.customer_id) if not events else None
    ):
        event = events[0]
        checks.equal("audit action", event.get("action"), "promote")
        checks.equal("audit model_id", event.get("model_id"), w.challenger_model_id)
        checks.equal("audit actor", event.get("actor"), actor, _actor_hint(event.get("actor"), actor))
    return checks.done(f"{w.challenger_model_id} is production; 1 archive; audit: promote by {actor}")


def settled_note(checks: Checks, answer: Any, what: str, command: str, route: str) -> None:
    """How a promote/rollback whose answer was an error or lost was settled (settle.py). Answered with an error
    (API Gateway's 504 ...) yet applied: a failure, the chain is broken (the engineer's command said it failed,
    and a retry would do it twice). No answer at all, or sent again after API Gateway's own 503: a warning."""
    note, errored = getattr(answer, "note", ""), getattr(answer, "errored", None)
    if errored is not None:
        hint = catalogue.for_error(errored, route)
        assert hint is not None  # an HTTP 5xx (settle.py keeps no other): catalogue.for_http always names one
        checks.that(
            False,
            f"{command} answers its {what} with success",
            note,
            hint.with_detail(
                f" — and the {what} was applied anyway (the registry in S3 shows it): the engineer's {command} "
                f"reported an error for a {what} that happened, and retrying it would do it twice"
            ),
        )
    elif note:
        status = getattr(answer, "status", None)
        if status is None:  # no answer came at all
            hint = catalogue.NO_ANSWER_APPLIED.fill(what=what)
        else:  # API Gateway's own 429/503, then applied (sent again, or it got through after all)
            hint = catalogue.THROTTLED if status == 429 else catalogue.RETRIED
        checks.warn(f"an answer to {command}", note, hint)


def _audit_log_answer(ctx: Context) -> Any:
    """ml-audit-log after the promotion: its data, or the error that 3.2 raises (any error: what went wrong
    asking it is 3.2's finding, never 3.1's, as when 3.2 sent it itself)."""
    ctx.audit_retries = begin_step_log()  # 3.2's retries, not 3.1's (this runs in a copy of 3.1's context)
    try:
        return call(ctx.client.audit_log, ctx.world.customer_id, route="GET /audit-log")
    except Exception as exc:  # StepFailed, or an unexpected error (a RecursionError parsing the answer, ...)
        return exc


def step_3_2(ctx: Context) -> str:
    """ml-audit-log after the promotion (asked by 3.1, beside its S3 reads, before anything else is sent)."""
    data = ctx.audit_after_promote
    log = step_log()
    if log is not None:
        log.extend(getattr(ctx, "audit_retries", None) or [])
    if isinstance(data, Exception):
        raise data
    if data is None:
        raise StepSkipped(actual="3.1 did not get as far as asking ml-audit-log")
    events = data.get("events") or []
    checks = Checks(
        catalogue.NO_AUDIT.fill(customer=ctx.world.customer_id)
        if not events
        else catalogue.ANSWER_DIFFERS.fill(route="GET /audit-log", what="one promote event, after step 3.1")
    )
    checks.equal("count", data.get("count"), 1)
    checks.equal("len(events)", len(events), 1)
    if events:
        checks.equal("events[0].action", events[0].get("action"), "promote")
    return checks.done("1 event: promote")


def _production_id(state: S3State) -> object:
    production = state.registry.get("production")
    return production.get("model_id") if isinstance(production, dict) else None


def _archive_key_guess(ctx: Context, answer: Any) -> str:
    """Where the rollback most likely archived the challenger: archived/{model_id}_{rollback_at as
    YYYYMMDD_HHMMSS}.json (one timestamp for the answer and the key, as the sandbox writes them). "" when the
    answer has no such timestamp."""
    stamp = answer.get("rollback_at") if isinstance(answer, dict) else None
    match = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|\+00:00)", str(stamp or ""))
    if not match:
        return ""
    y, mo, d, h, mi, sec = match.groups()
    return f"{ctx.world.archive_prefix}{ctx.world.challenger_model_id}_{y}{mo}{d}_{h}{mi}{sec}.json"


def _read_guess(ctx: Context, key: str) -> dict:
    """{key: content} when the guessed archive exists; {} otherwise or on any error (the judging reads what the
    listing names, as without a guess, and reports its errors)."""
    if not key:
        return {}
    try:
        document = archive.read_document(ctx, key)
    except Exception:
        return {}
    return {key: document} if document is not None else {}


def step_3_3(ctx: Context) -> str:
    w, actor = ctx.world, ctx.settings.actor
    before = ctx.archives.known()
    ctx.archives.stale = True
    result = call(
        settled,
        ctx,
        lambda: ctx.client.rollback(w.customer_id, ROLLBACK_REASON),
        lambda state: _production_id(state) == w.production_model_id,
        "POST /rollback",
        route="POST /rollback",
        expected="ml-rollback succeeds",
    )
    guess = _archive_key_guess(ctx, result)  # its archive's content read beside the listing that names it
    state, guessed = ctx.parallel(lambda: read_state(ctx, with_archives=True), lambda: _read_guess(ctx, guess))
    registry, events = state.registry, state.events
    ctx.snapshot = state
    ctx.archives.listed(state.archives)
    production = registry.get("production") or {}
    checks = Checks(
        catalogue.ANSWER_DIFFERS.fill(
            route="POST /rollback", what="the rollback, as the plan's S3 tree has it after step 3.3"
        )
    )
    settled_note(checks, result, "rollback", "ml-rollback", "POST /rollback")
    if not getattr(result, "note", ""):
        checks.that("rollback_at" in result or "message" in result, "the answer has rollback_at or message", result)
    checks.equal(
        "registry production.model_id",
        production.get("model_id"),
        w.production_model_id,
        catalogue.NOT_PERSISTED.fill(what="rollback", change="was not restored"),
    )
    checks.that(
        "rollback_at" in production or "promoted_at" in production,
        "production has rollback_at or promoted_at",
        production,
    )
    if checks.equal(
        "audit events", len(events), 2, catalogue.NO_AUDIT.fill(customer=w.customer_id) if len(events) < 2 else None
    ):
        checks.equal("last audit action", events[-1].get("action"), "rollback")
        checks.equal("last audit actor", events[-1].get("actor"), actor, _actor_hint(events[-1].get("actor"), actor))
    archived = archive.judge(
        ctx,
        checks,
        ctx.archives.keys,
        archive.Archived(w.challenger_model_id, "rolled_back"),
        catalogue.NO_ROLLBACK_ARCHIVE.fill(customer=w.customer_id),
        known=guessed,
    )
    kept = [k for k in before if k != archived and archive.names(k, w.production_model_id) and k in ctx.archives.keys]
    detail = "; the restored 'superseded' archive is still there (allowed: no s3:DeleteObject)" if kept else ""
    return checks.done(
        f"{w.production_model_id} restored; {w.challenger_model_id} archived; audit: rollback by {actor}" + detail
    )
