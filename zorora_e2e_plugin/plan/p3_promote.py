"""Phase 3: ml-promote and ml-rollback, with the S3 state (registry, archive, audit log) checked after each."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import diagnose
from ..client import Cancelled, OnaError
from ..fixtures import PROMOTE_REASON, ROLLBACK_REASON
from ..results import StepFailed, StepSkipped
from ..store import StoreError
from .calls import call, read_state
from .context import Checks, Context


def _actor_hint(recorded: Any, actor: str) -> str:
    """The run sends the test actor in the body and in X-Actor: any other recorded actor is a third one."""
    if recorded != actor:
        return diagnose.THIRD_ACTOR.format(recorded=recorded, actor=actor)
    return ""


def step_3_1(ctx: Context) -> str:
    w, actor = ctx.world, ctx.settings.actor
    ctx.archives.stale = True
    try:
        answer = ctx.client.promote(w.customer_id, w.challenger_model_id, PROMOTE_REASON)
    except Cancelled as exc:
        raise StepFailed("the promotion is sent", exc.message,
                         "ZORORA_AUTO_CONFIRM was not 'true' when Zorora checked it") from None
    except OnaError as exc:
        text = exc.message + " " + exc.body
        hint = diagnose.for_error(exc, "a route ml-promote calls (GET /challengers, GET /diff, POST /promote)")
        if "production/latest" in text:
            hint = diagnose.LATEST_ALIAS
        elif exc.status == 404 and "metrics" in text.lower():  # the alias, unless phase 2 saw the lookup fail
            hint = diagnose.METRICS_KEY_AGAIN.format(where="GET /diff during ml-promote",
                                                     step=ctx.metrics_missing) \
                if ctx.metrics_missing else diagnose.LATEST_ALIAS
        raise StepFailed("ml-promote succeeds", f"{'HTTP %s: ' % exc.status if exc.status else ''}{exc.message}",
                         hint) from None
    result = answer.get("result") or {}
    # 3.2's ml-audit-log goes out beside the S3 reads (one round trip for both); 3.2 judges what came back
    state, ctx.audit_after_promote = ctx.parallel(lambda: read_state(ctx, with_archives=True),
                                                  lambda: _audit_log_answer(ctx))
    registry, events, archives = state.registry, state.events, state.archives
    ctx.archives.listed(archives)
    production = registry.get("production") or {}
    checks = Checks()
    checks.that("promoted_at" in result or "message" in result, "the answer has promoted_at or message", result)
    checks.equal("registry production.model_id", production.get("model_id"), w.challenger_model_id,
                 "the API answered 200 but the registry in S3 did not change: the promotion was not persisted")
    checks.that("promoted_at" in production, "production.promoted_at is set", production)
    checks.equal("production.promoted_by", production.get("promoted_by"), actor,
                 _actor_hint(production.get("promoted_by"), actor))
    checks.equal("len(registry challengers)", len(registry.get("challengers") or []), 0,
                 "the promoted challenger must leave the challengers list")
    if checks.equal("archived production objects", len(archives), 1,
                    diagnose.NO_ARCHIVE.format(customer=w.customer_id) if not archives else ""):
        if w.production_model_id not in archives[0]:  # the key format is an assumption: the content decides
            archived = _archive_documents(ctx, archives).get(archives[0]) or {}
            checks.equal("the archive's model_id", archived.get("model_id"), w.production_model_id,
                         f"the archive object {archives[0]} does not hold the previous production entry")
    if checks.equal("audit events", len(events), 1,
                    diagnose.NO_AUDIT.format(customer=w.customer_id) if not events else ""):
        event = events[0]
        checks.equal("audit action", event.get("action"), "promote")
        checks.equal("audit model_id", event.get("model_id"), w.challenger_model_id)
        checks.equal("audit actor", event.get("actor"), actor, _actor_hint(event.get("actor"), actor))
    return checks.done(f"{w.challenger_model_id} is production; 1 archive; audit: promote by {actor}")


def _audit_log_answer(ctx: Context) -> Any:
    """ml-audit-log after the promotion: its data, or the error that 3.2 raises (any error: what went wrong
    asking it is 3.2's finding, never 3.1's, as when 3.2 sent it itself)."""
    try:
        return call(ctx.client.audit_log, ctx.world.customer_id, route="GET /audit-log")
    except Exception as exc:  # StepFailed, or an unexpected error (a RecursionError parsing the answer, ...)
        return exc


def step_3_2(ctx: Context) -> str:
    """ml-audit-log after the promotion (asked by 3.1, beside its S3 reads, before anything else is sent)."""
    data = ctx.audit_after_promote
    if isinstance(data, Exception):
        raise data
    if data is None:
        raise StepSkipped(actual="3.1 did not get as far as asking ml-audit-log")
    checks = Checks()
    events = data.get("events") or []
    checks.equal("count", data.get("count"), 1)
    checks.equal("len(events)", len(events), 1)
    if events:
        checks.equal("events[0].action", events[0].get("action"), "promote")
    return checks.done("1 event: promote")


def _archive_documents(ctx: Context, keys: List[str]) -> Dict[str, Any]:
    """The archive objects' contents, read concurrently (one round trip)."""
    if not keys:
        return {}
    try:
        answers = ctx.parallel(*[(lambda k=k: ctx.store.get_json(k)[0]) for k in keys])
    except StoreError as exc:
        raise diagnose.s3_failed("the archive objects readable", exc) from None
    return dict(zip(keys, answers))


def _rollback_archive(ctx: Context, checks: Checks, before: List[str], archives: List[str]) -> str:
    """3.3's archive check: the rolled-back challenger must be archived (its model_id, archive_reason
    rolled_back where the field exists). Not read from the key (its format is an assumption) but from the
    content. The restored 'superseded' archive may stay (the function has no s3:DeleteObject): a detail."""
    w = ctx.world
    documents = _archive_documents(ctx, archives)
    rolled = [k for k, doc in documents.items() if isinstance(doc, dict)
              and doc.get("model_id") == w.challenger_model_id]
    proper = [k for k in rolled if documents[k].get("archive_reason", "rolled_back") == "rolled_back"]
    where = f"customer_tailored/{{C}}/archived/ ({len(archives)} object(s))"
    if not rolled:
        checks.that(False, f"an archive object holding {w.challenger_model_id} (the rolled-back production)",
                    f"none in {where}",
                    "the rollback restored the previous production but did not archive the one it replaced "
                    f"(customer_tailored/{w.customer_id}/archived/): the promoted model vanished from history")
    elif not proper:
        checks.that(False, "its archive_reason == 'rolled_back'",
                    f"archive_reason = {documents[rolled[0]].get('archive_reason')!r} in {rolled[0]}",
                    "the rollback archived the model it replaced with the wrong archive_reason")
    kept = [k for k in before if k in documents and isinstance(documents[k], dict)
            and documents[k].get("model_id") == w.production_model_id]
    return "; the restored 'superseded' archive is still there (allowed: no s3:DeleteObject)" if kept else ""


def step_3_3(ctx: Context) -> str:
    w, actor = ctx.world, ctx.settings.actor
    before = ctx.archives.known()
    ctx.archives.stale = True
    result = call(ctx.client.rollback, w.customer_id, ROLLBACK_REASON, route="POST /rollback",
                   expected="ml-rollback succeeds")
    state = read_state(ctx, with_archives=True)
    registry, events = state.registry, state.events
    ctx.snapshot = state
    ctx.archives.listed(state.archives)
    production = registry.get("production") or {}
    checks = Checks()
    checks.that("rollback_at" in result or "message" in result, "the answer has rollback_at or message", result)
    checks.equal("registry production.model_id", production.get("model_id"), w.production_model_id,
                 "the API answered 200 but the registry in S3 was not restored: the rollback was not persisted")
    checks.that("rollback_at" in production or "promoted_at" in production,
                "production has rollback_at or promoted_at", production)
    if checks.equal("audit events", len(events), 2,
                    diagnose.NO_AUDIT.format(customer=w.customer_id) if len(events) < 2 else ""):
        checks.equal("last audit action", events[-1].get("action"), "rollback")
        checks.equal("last audit actor", events[-1].get("actor"), actor, _actor_hint(events[-1].get("actor"), actor))
    detail = _rollback_archive(ctx, checks, before, ctx.archives.keys)
    return checks.done(f"{w.production_model_id} restored; {w.challenger_model_id} archived as rolled_back; "
                       f"audit: rollback by {actor}" + detail)
