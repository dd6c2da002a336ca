"""A promote or rollback whose answer was lost or a 5xx is settled by reading the state it would have changed
(the registry in S3), never by sending it again blindly: the step then says which it was.

It is sent once more only when reading proved it not applied AND API Gateway answered it itself with 429 or
503 (calls.unreached: the Lambda never ran it). A 500, 502, 504, a timeout or a dropped connection may have
reached the Lambda: never sent again (API Gateway ends an integration after ~29 s while the Lambda may run on).
"""

from __future__ import annotations

import time
from typing import Callable

from ..client import OnaError, errors
from ..s3.customer_state import S3State
from ..wire.retries import RETRIES, Retry, step_log
from .calls import read_state, unreached
from .context import Context

RESEND_WAIT = 0.5  # seconds before the one re-send of a mutation API Gateway never passed on


class Settled(dict):
    """The mutation's answer (empty when it was lost but the state shows it applied); `note` says how it was
    settled ("" when it answered 2xx at once). `errored`: the error answer (a 5xx: API Gateway's 504, the Lambda's
    500 ...) it got although the state shows it applied: the engineer's command reported a failure for a change
    that happened, and a retry would make it twice (the step fails for it). None when no answer came at all.
    `status`: the status of the error answer it was settled after (None: no answer came)."""

    note = ""
    errored: OnaError | None = None
    status: int | None = None


def unanswered(exc: OnaError) -> bool:
    """No answer, a 5xx or a 429: what happened is unknown until the state is read."""
    return exc.kind in errors.NO_ANSWER or (exc.status or 0) >= 500 or exc.status == 429


def shown(exc: OnaError) -> str:
    return f"HTTP {exc.status}" if exc.status else (exc.message[:120] or "no answer")


def settled(ctx: Context, send: Callable[[], dict], applied: Callable[[S3State], bool], what: str) -> Settled:
    """`send()` once; on a lost/5xx/429 answer read the registry: applied -> an empty answer with its note;
    not applied -> once more when API Gateway never passed it on, else the error (its message says it was
    not applied)."""
    try:
        return Settled(send())
    except OnaError as exc:
        if not unanswered(exc):
            raise
        first = exc
    try:
        state = read_state(ctx)
    except Exception:  # S3 unreadable: the error stands, unsettled (the step's own S3 reads will say why)
        raise first from None
    if applied(state):
        if getattr(ctx, "mutations", None) is not None:  # its effects are in S3: nothing left to wait for
            ctx.mutations.settle(what.split()[-1])
        answer = Settled()
        answer.note = (
            f"{what} answered {shown(first)}, but the registry in S3 shows it applied "
            "(settled by reading the state it changes)"
        )
        answer.status = first.status or None
        if first.status and first.status >= 500:  # an answer, and an error: the chain told the engineer it failed
            answer.errored = first
        return answer
    if not unreached(first.status, first.body, first.headers):
        later = (
            " yet: it may still take effect (API Gateway ends an integration after ~29 s while the Lambda runs on)"
            if first.kind == errors.TIMEOUT or first.status == 504
            else ""
        )
        first.message += (
            f" — and the registry in S3 shows it not applied{later} (settled by reading it; not sent again)"
        )
        raise first
    log = step_log()
    for attempt in range(1, RETRIES + 1):  # at most twice more, as a read; each time the state read first
        if log is not None:
            log.append(Retry(what, attempt, f"HTTP {first.status} from API Gateway"))
        time.sleep(RESEND_WAIT * attempt)
        try:
            answer = Settled(send())
        except OnaError as exc:
            if not (unanswered(exc) and unreached(exc.status, exc.body, exc.headers)) or attempt == RETRIES:
                raise
            first = exc
            if applied(read_state(ctx)):  # it did get through after all
                if getattr(ctx, "mutations", None) is not None:
                    ctx.mutations.settle(what.split()[-1])
                answer = Settled()
                answer.note = f"{what} answered {shown(first)}, but the registry in S3 shows it applied"
                answer.status = first.status or None
                return answer
            continue
        answer.note = (
            f"{what} answered HTTP {first.status} from API Gateway itself (the Lambda never ran it) "
            "and the registry showed it not applied: sent again, applied"
        )
        answer.status = first.status
        return answer
    raise first
