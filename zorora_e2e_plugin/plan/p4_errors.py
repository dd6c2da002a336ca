"""Phase 4: invalid requests are rejected (by the client or the Lambda), the server enforces its own checks
(reason length, token, promotion gates), and none of it leaves a trace in S3.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import threading
from typing import Any, Callable

from ..client import OnaError, errors
from ..core import catalogue
from ..core.outcomes import StepFailed, StepSkipped, StepWarning
from ..s3.store import StoreError, pool_thread_name
from .calls import NEVER_SENT, gate_writes_done, raw_refusal, read_state, s3_failed
from .context import Checks, Context
from .seed_data import CHALLENGER_METRICS, ERROR_REASON, GATE_REASON, GATE_UNDO_REASON, SHORT_REASON, UNKNOWN_MODEL


def setup_phase_4(ctx: Context) -> None:
    """After the rollback (so phase 2 saw exactly one challenger): add a second challenger that fails the gates
    every source agrees on (evaluated more than 7 days ago, verdict not_eligible), with its metrics. The
    registry as written here is the "before" picture 4.5 compares with.

    The two puts go out in the background, beside 4.1-4.4 (which need no S3): one round trip for both. 4.6
    and 4.5 wait for them (`gate_writes_done`), and so does the cleanup. The registry is written only if it is
    still what 3.3 read (If-Match its ETag): a rejected request of 4.1-4.4 that wrote the registry before this
    put makes S3 refuse it, and 4.5 then finds the registry changed since 3.3's picture; one that writes
    after it differs from what was put. The audit log's picture is 3.3's, taken before any of them."""
    if ctx.snapshot is None:  # 3.3 did not run: take the "before" picture now, before 4.1-4.4 are sent
        ctx.snapshot = read_state(ctx)
    w = ctx.world
    registry = dict(ctx.snapshot.registry or {"customer_id": w.customer_id})
    challengers = registry.get("challengers")
    challengers = challengers if isinstance(challengers, list) else []
    registry["challengers"] = [
        c for c in challengers if not (isinstance(c, dict) and c.get("model_id") == w.gate_challenger_model_id)
    ]
    registry["challengers"].append(w.gate_challenger_entry())
    raw = json.dumps(registry, indent=2).encode()
    ctx.written.update({w.registry_key, w.gate_challenger_metrics_key})
    etag = ctx.store.etag_of(w.registry_key, ctx.snapshot.registry_raw)
    done = threading.Event()
    ctx.gate_writes = done
    threading.Thread(
        target=contextvars.copy_context().run,
        args=(_write_gate_challenger, ctx, raw, etag, done),
        daemon=True,
        name=f"{pool_thread_name()}_phase_4_setup",
    ).start()  # a phase's, not a step's


def _write_gate_challenger(ctx: Context, raw: bytes, etag: str, done: threading.Event) -> None:
    w = ctx.world
    try:
        ctx.parallel(
            lambda: _put_registry(ctx, raw, etag),
            lambda: ctx.store.put_json(w.gate_challenger_metrics_key, CHALLENGER_METRICS),
        )
        assert ctx.snapshot is not None  # setup_phase_4 took it before starting this thread
        ctx.snapshot = dataclasses.replace(ctx.snapshot, registry=json.loads(raw), registry_raw=raw)
        ctx.gate_written = True
    except StoreError as exc:  # 4.1-4.4 need no S3: only 4.6 (and 4.5) fail, with this error
        if exc.code in NEVER_SENT:
            ctx.written.discard(w.gate_challenger_metrics_key)
        if exc.code in CHANGED_UNDER_US:  # 4.5 finds the change (against 3.3's picture) and reports it
            ctx.gate_error = StepSkipped(
                actual="the gate challenger was not written: the registry changed after "
                "3.3 read it, while 4.1-4.4 were sent (see 4.5)"
            )
        else:
            ctx.gate_error = s3_failed("the gate challenger written to S3", exc)
    except Exception as exc:  # never leave 4.6 and 4.5 waiting without a word
        ctx.gate_error = StepFailed(
            "the gate challenger written to S3", f"{type(exc).__name__}: {exc}", catalogue.INTERNAL
        )
    finally:
        done.set()


CHANGED_UNDER_US = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def _put_registry(ctx: Context, raw: bytes, etag: str) -> None:
    try:
        ctx.store.put_bytes(ctx.world.registry_key, raw, if_match=etag)
    except StoreError as exc:  # an S3-compatible store without conditional writes: as before, unconditionally
        if not etag or exc.code not in ("NotImplemented", "501"):
            raise
        ctx.store.put_bytes(ctx.world.registry_key, raw)


def _expect_rejection(ctx: Context, fn: Callable, *args: Any) -> str:
    """The command must be refused: by the client's own checks (no status) or by the Lambda (a 4xx with its
    JSON error: 400, 404, 409, 422 ... — the exact code is not public). Not by a missing route, the token, a
    5xx, or silence."""
    try:
        fn(*args)
    except OnaError as exc:
        if exc.status == 0 or exc.kind in errors.NO_ANSWER:  # no answer at all is not a rejection (its URL may
            # well say "challengers")
            raise StepFailed(
                "the command is rejected with an error", f"no answer: {exc.message}", catalogue.for_error(exc)
            ) from None
        if exc.status is not None and catalogue.answer_source(exc.status, exc.body) in (
            "gateway",
            "auth",
            "server",
            "throttled",
        ):
            raise StepFailed(
                "a rejection by the client or the Lambda",
                f"HTTP {exc.status}: {exc.message}",
                catalogue.for_error(exc, "a route ml-promote calls"),
            ) from None
        return exc.message
    raise StepFailed("the command is rejected with an error", "it succeeded", catalogue.ACCEPTED_INVALID)


def _accepted(ctx: Context, failed: StepFailed, step_id: str, *reasons: str) -> StepFailed:
    """Should the call have succeeded, the reasons `step_id` sent are marked accepted (4.5 then counts their
    traces as that step's finding, not its own)."""
    if failed.actual == "it succeeded":
        ctx.accepted[step_id] = reasons
    return failed


def step_4_1(ctx: Context) -> str:
    try:
        message = _expect_rejection(ctx, ctx.client.promote, ctx.world.customer_id, UNKNOWN_MODEL, ERROR_REASON)
    except StepFailed as failed:
        raise _accepted(ctx, failed, "4.1", ERROR_REASON) from None
    if "not found" not in message.lower() and "challenger" not in message.lower():
        raise StepFailed(
            "an error naming the unknown challenger ('not found')",
            message,
            catalogue.VAGUE_REFUSAL.fill(route="ml-promote of an unknown challenger", what="the unknown challenger"),
        )
    return f"rejected: {message}"


def step_4_2(ctx: Context) -> str:
    try:
        message = _expect_rejection(
            ctx, ctx.client.promote, ctx.world.customer_id, ctx.world.challenger_model_id, SHORT_REASON
        )
    except StepFailed as failed:
        raise _accepted(ctx, failed, "4.2", SHORT_REASON) from None
    low = message.lower()
    if not ("reason" in low and ("10" in low or "length" in low)):
        raise StepFailed(
            "an error about the reason's length",
            message,
            catalogue.VAGUE_REFUSAL.fill(route="ml-promote with a 3-character reason", what="the reason's length"),
        )
    return f"rejected: {message}"


def step_4_3(ctx: Context) -> str:
    w = ctx.world
    response = raw_refusal(
        ctx,
        "POST",
        "/promote",
        json_data={
            "customer_id": w.customer_id,
            "model_id": w.challenger_model_id,
            "reason": "tiny",
            "force": False,
            "actor": ctx.settings.actor,
        },
    )
    body = response.text
    source = catalogue.answer_source(response.status, body)
    if source == "accepted":
        ctx.accepted["4.3"] = ("tiny",)
        raise StepFailed(
            "a 4xx for a 4-character reason", f"HTTP {response.status}: {body}", catalogue.REASON_UNCHECKED
        )
    if source == "lambda" and "reason" in body.lower():
        return f"HTTP {response.status}: {body}"
    if source in ("gateway", "auth", "server"):
        raise StepFailed(
            "a 4xx from the Lambda naming the reason",
            f"HTTP {response.status}: {body}",
            catalogue.for_http(response.status, body, "POST /promote"),
        )
    raise StepWarning(
        "a 4xx from the Lambda naming the reason",
        f"HTTP {response.status}: {body}",
        catalogue.VAGUE_REFUSAL.fill(route="POST /promote with a 4-character reason", what="the reason's length"),
    )


def step_4_4(ctx: Context) -> str:
    response = raw_refusal(
        ctx,
        "POST",
        "/rollback",
        with_token=False,
        json_data={
            "customer_id": ctx.world.customer_id,
            "reason": "End-to-end validation auth check",
            "actor": ctx.settings.actor,
        },
    )
    body = response.text
    if response.status in (401, 403):
        return f"HTTP {response.status} without a token"
    if catalogue.answer_source(response.status, body) in ("accepted", "lambda"):  # business logic answered
        if catalogue.answer_source(response.status, body) == "accepted":
            ctx.accepted["4.4"] = ("End-to-end validation auth check",)
        raise StepFailed("HTTP 401 without a token", f"HTTP {response.status}: {body}", catalogue.NO_TOKEN_CHECK)
    raise StepFailed(
        "HTTP 401 or 403 without a token",
        f"HTTP {response.status}: {body}",
        catalogue.for_http(response.status, body, "POST /rollback"),
    )


GATE_WORDS = ("gate", "stale", "7 day", "fresh", "verdict", "eligible", "evaluat")
BUSY_WORDS = ("concurrent", "in progress", "lock")


def step_4_6(ctx: Context) -> str:
    """The server's own gates: promote the stale, not_eligible challenger with a direct POST /promote (force
    false, a valid reason; Zorora's client-side diff check bypassed). Its own wave: nothing else promotes
    meanwhile, so a "concurrent promotion" answer cannot pass for a gate."""
    w, actor = ctx.world, ctx.settings.actor
    if not gate_writes_done(ctx):
        raise StepFailed(
            "the gate challenger written to S3", "its writes did not end in time", catalogue.for_s3("ReadTimeoutError")
        )
    if ctx.gate_error is not None:
        raise ctx.gate_error
    if not ctx.gate_written:
        raise StepSkipped(actual="the gate challenger was not written")
    was_stale, ctx.archives.stale = ctx.archives.stale, True  # an accepted promotion writes an archive not
    # listed yet
    response = raw_refusal(
        ctx,
        "POST",
        "/promote",
        json_data={
            "customer_id": w.customer_id,
            "model_id": w.gate_challenger_model_id,
            "reason": GATE_REASON,
            "force": False,
            "actor": actor,
        },
    )
    status, body = response.status, response.text
    source = catalogue.answer_source(status, body)
    expected = "refused, naming a failed gate (evaluated > 7 days ago; verdict not_eligible)"
    if source == "accepted":
        ctx.accepted["4.6"] = (GATE_REASON, GATE_UNDO_REASON)
        try:
            undo = ctx.raw.send(
                "POST",
                "/rollback",
                json_data={"customer_id": w.customer_id, "reason": GATE_UNDO_REASON, "actor": actor},
            )
            undone = f"rolled back: HTTP {undo.status}"
        except OnaError as exc:  # the cleanup removes everything anyway
            undone = f"rollback failed: {exc.message}"
        raise StepFailed(
            expected,
            f"HTTP {status}: the server promoted a challenger that fails its gates ({undone})",
            catalogue.GATES_SKIPPED,
        )
    if source in ("lambda", "gateway", "auth"):  # refused before acting (a 5xx may have acted half-way)
        ctx.archives.stale = was_stale
    if source != "lambda":
        raise StepFailed(
            expected,
            f"HTTP {status}: {body}",
            catalogue.for_http(status, body, "POST /promote")
            or catalogue.FOREIGN_ANSWER.fill(route="POST /promote", status=status),
        )
    data = response.json() or {}
    gates = data.get("failed_gates")
    gate_text = " ".join(str(g) for g in gates) if isinstance(gates, list) else ""
    said = data.get("error") or data.get("message")  # the key of the Lambda's error is assumed (docs/platform.md)
    text = f"{said} {gate_text}".lower()
    if any(word in text for word in BUSY_WORDS) and not any(word in gate_text.lower() for word in GATE_WORDS[1:]):
        raise StepFailed(expected, f"HTTP {status}: {body}", catalogue.BUSY)
    if not any(word in text for word in GATE_WORDS):
        hint = (
            catalogue.GATE_CHALLENGER_UNSEEN
            if "not found" in text
            else catalogue.VAGUE_REFUSAL.fill(route="POST /promote of a challenger that fails its gates", what="a gate")
        )
        raise StepFailed(expected, f"HTTP {status}: {body}", hint)
    return f"HTTP {status}: {said}" + (f" {gates}" if gate_text else "")


def _listing_for_cleanup(ctx: Context) -> dict[str, list[str]] | None:
    """The run's prefixes, listed for 5.1 beside 4.5's reads: 4.5's wave is the plan's last, so nothing is
    sent between this listing and the cleanup (cleanup.clean_up drops it when a cut-off step may still
    send). None when not needed or S3 refused: 5.1 then lists for itself."""
    if not ctx.owns_prefixes or ctx.settings.keep_data:
        return None
    try:
        return ctx.store.list_many(ctx.world.prefixes)
    except StoreError:
        return None


def step_4_5(ctx: Context) -> str:
    if not gate_writes_done(ctx):
        raise StepFailed(
            "phase 4's setup writes ended",
            "the gate challenger's writes did not end in time",
            catalogue.for_s3("ReadTimeoutError"),
        )
    before = ctx.snapshot
    assert before is not None  # setup_phase_4 took it (a phase whose setup fails fails every step unrun)
    after, ctx.cleanup_listing = ctx.parallel(lambda: read_state(ctx), lambda: _listing_for_cleanup(ctx))
    new = after.events[len(before.events) :]
    theirs = {reason: step for step, reasons in ctx.accepted.items() for reason in reasons}
    unexplained = [e for e in new if e.get("reason") not in theirs]
    if ctx.accepted and not unexplained:  # one cause, one finding: the accepting step already failed for it
        steps = ", ".join(sorted(ctx.accepted))
        changed = "changed" if after.registry_raw != before.registry_raw or new else "left unchanged"
        return (
            f"registry and audit log {changed} only by the request(s) step {steps} reported as accepted "
            "(the failure is theirs); nothing else left a trace"
        )
    checks = Checks()
    checks.that(
        after.registry_raw == before.registry_raw,
        "registry bytes (as written at the start of phase 4) unchanged by 4.1-4.4 and 4.6",
        "the registry changed",
        catalogue.SIDE_EFFECT,
    )
    checks.that(
        not unexplained,
        f"{len(before.events)} audit events (unchanged)",
        f"{len(after.events)} events; new: "
        + ", ".join(f"{e.get('action')} {e.get('model_id')} ({e.get('reason')!r})" for e in unexplained),
        catalogue.SIDE_EFFECT,
    )
    return checks.done("registry and audit log unchanged")
