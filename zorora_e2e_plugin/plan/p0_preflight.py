"""Phase 0, the hard gate (1 of 2): the API answers (0.1), accepts the token (0.2), runs its business logic
(0.3), and the bucket takes a probe object (0.4). 0.5, the route probes, is in probes.py.
"""

from __future__ import annotations

import threading
from typing import Any, Callable
from urllib.parse import urlsplit

from ..client import RawResponse
from ..config.checks import bearer_scheme
from ..core import catalogue
from ..core.answers import from_gateway
from ..core.outcomes import StepFailed, StepSkipped, StepWarning
from ..s3.store import Store, StoreError
from .calls import CONFIG_S3_CODES, DEFINITE_S3_REFUSALS, raw, s3, s3_failed
from .context import Context
from .p5_cleanup import sweep_command_for


def _redirect_target(url: str) -> str:
    """Where a redirect pointed, safe to print: no user:password, no query (signed URLs carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        shown = f"{parts.scheme}://{host}{parts.path}"
    except ValueError:
        return "<unparseable URL>"
    return shown + ("?…" if parts.query else "")


def redirect_failure(response: RawResponse) -> StepFailed:
    target = _redirect_target(response.location) if response.location else "(no Location header)"
    return StepFailed(
        "an answer from the API itself, not a redirect",
        f"HTTP {response.status}: redirected to {target}",
        catalogue.REDIRECT.fill(target=target),
    )


NOT_CONNECTED = (catalogue.CONNECT.id, catalogue.DNS.id, catalogue.TLS.id)  # 0.1's findings of no connection


def wait_for(event: threading.Event, ctx: Context) -> bool:
    """Wait for the other preflight step's answers (0.1 <-> 0.5), as long as its requests may take."""
    return event.wait(ctx.settings.timeout * 4 + 2)


# the routes 0.5 probes (plan/probes.py), by the label its answers are kept under (ctx.route_answers)
ROUTE_NAMES = {
    "metrics": "GET /metrics/{model_id+}",
    "diff": "GET /diff",
    "audit-log": "GET /audit-log",
    "promote": "POST /promote",
    "rollback": "POST /rollback",
}


def every_route_missing(ctx: Context) -> bool:
    """0.5's probes (waited for) all got API Gateway's own 404: no route exists at this base URL."""
    if not ctx.routes_started.wait(2) or not wait_for(ctx.routes_ready, ctx) or not ctx.route_answers:
        return False
    answers = [ctx.route_answers.get(label) for label in ROUTE_NAMES]
    return all(
        a is not None
        and getattr(a, "status", None) is not None
        and catalogue.answer_source(a.status, a.text) == "gateway"
        for a in answers
    )


def preflight_source(ctx: Context) -> str:
    """Who answered 0.1's GET /challengers (waited for): answer_source's word, or '' for no answer."""
    if not wait_for(ctx.preflight_ready, ctx) or ctx.preflight is None:
        return ""
    return catalogue.answer_source(ctx.preflight.status, ctx.preflight.text)


def step_0_1(ctx: Context) -> str:
    try:
        response = raw(ctx, "GET", "/challengers", params={"customer_id": "test"})
        ctx.preflight = response
    finally:
        ctx.preflight_ready.set()
    status, body = response.status, response.text
    if response.redirected:
        raise redirect_failure(response)
    if status in (401, 403):  # reachable: the token is 0.2's finding, and only 0.2's
        return f"HTTP {status}: the API answered (the token is judged in 0.2)"  # its time: the step's
    if status == 404:
        requested = f"GET {ctx.settings.display_url.rstrip('/')}/challengers"
        if catalogue.answer_source(status, body) == "gateway" and every_route_missing(ctx):
            raise StepFailed(
                "an API at this base URL",
                f"HTTP 404 {body.strip()[:80]} from API Gateway itself, for every route",
                catalogue.WRONG_URL.fill(requested=requested),
                config_error=True,
            )
        raise StepFailed("not 404", f"HTTP 404 for {requested}: {body}", catalogue.route_missing("GET /challengers"))
    if status >= 500:
        hint = catalogue.for_http(status, body, "GET /challengers", response.headers)
        who = (
            "API Gateway answered itself (the Lambda did not answer it)"
            if from_gateway(status, body, response.headers)
            else "Lambda invoked, but failing"
        )
        raise StepWarning("200 or 400", f"HTTP {status} — {who}: {body}", hint)
    if 200 <= status < 300:
        data = response.json()
        if data is None:
            raise StepFailed(
                "a JSON answer", f"HTTP {status} with a non-JSON body: {body!r}", catalogue.for_not_json(body)
            )
        if not isinstance(data, dict):
            raise StepFailed(
                "one JSON object", f"HTTP {status} with JSON that is not an object: {body}", catalogue.NOT_OBJECT
            )
    elif catalogue.answer_source(status, body, response.headers) != "lambda":
        raise StepWarning(
            "2xx, or a 4xx from the Lambda (a JSON error)",
            f"HTTP {status}: {body}",
            catalogue.for_http(status, body, "GET /challengers", response.headers),
        )
    return f"HTTP {status}"  # how long it took is the step's time, beside it


def step_0_2(ctx: Context) -> str:
    response = ctx.preflight
    if response is None:
        raise StepSkipped(actual="no answer in 0.1 to judge the token by")
    if response.redirected:  # whoever answered after the redirect never received the token: 0.1 says so
        raise StepSkipped(actual="not judged: the base URL redirects (see 0.1)")
    if response.status == 401:  # a token set with its scheme went out as 'Bearer Bearer ...' (the REPL's client)
        raise StepFailed(
            "the bearer token is accepted",
            f"HTTP 401: bearer token rejected ({response.text})",
            catalogue.TOKEN_SCHEME if bearer_scheme(ctx.settings.token) else catalogue.TOKEN_MISMATCH,
        )
    if response.status == 403:
        raise StepFailed(
            "the bearer token is accepted",
            f"HTTP 403: forbidden ({response.text})",
            catalogue.for_http(403, response.text),
        )
    if response.status == 404 or catalogue.answer_source(response.status, response.text) == "gateway":
        raise StepSkipped(actual="not judged: GET /challengers did not reach the Lambda (see 0.1)")
    if from_gateway(response.status, response.text, response.headers) or response.status == 429:
        # API Gateway's own 503/504/500/429: whatever the Lambda would say of the token, it did not say it
        raise StepSkipped(
            actual=f"not judged: API Gateway answered HTTP {response.status} itself, so nothing "
            "checked the token (see 0.1)"
        )
    return f"accepted (HTTP {response.status})"


def step_0_3(ctx: Context) -> str:
    try:
        response = raw(ctx, "GET", "/challengers")
    except StepFailed as failed:  # no connection at all: 0.1 (beside it) names that, once
        if (
            getattr(failed.hint, "id", None) in NOT_CONNECTED
            and wait_for(ctx.preflight_ready, ctx)
            and ctx.preflight is None
        ):
            raise StepSkipped(actual="not judged: no connection to the API (see 0.1)") from None
        raise
    text = response.text
    if response.redirected:
        raise StepSkipped(actual="not judged: the base URL redirects (see 0.1)")
    if response.status in (401, 403):
        raise StepSkipped(actual=f"not judged: HTTP {response.status}, the token was refused (see 0.2)")
    source = catalogue.answer_source(response.status, text, response.headers)
    if source == "gateway":
        raise StepSkipped(actual="not judged: GET /challengers did not reach the Lambda (see 0.1)")
    if source == "lambda":  # a 4xx whose body is a JSON object of the Lambda's (400 in the sandbox), any key
        if "customer_id" in text.lower():
            return f"HTTP {response.status} naming customer_id: the Lambda parses and validates requests"
        raise StepWarning(
            "a 4xx naming customer_id",
            f"HTTP {response.status}: {text}",
            catalogue.VAGUE_REFUSAL.fill(route="GET /challengers without customer_id", what="the missing customer_id"),
        )
    if source == "other" and 400 <= response.status < 500 and response.status != 404:  # the plan: ⚠
        raise StepWarning(
            "a 4xx whose JSON names customer_id",
            f"HTTP {response.status}, not JSON: {text}",
            catalogue.VAGUE_REFUSAL.fill(
                route="GET /challengers without customer_id",
                what="the missing customer_id (its body is not a JSON object)",
            ),
        )
    if response.status >= 500 or response.status in (401, 403, 404, 429):
        raise StepWarning(
            "400 naming customer_id",
            f"HTTP {response.status}: {text}",
            catalogue.for_http(response.status, text, "GET /challengers", response.headers),
        )
    return f"HTTP {response.status}"


def _outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, StoreError | None]:
    """(what `fn(*args)` returned, None), or (None, its StoreError)."""
    try:
        return fn(*args), None
    except StoreError as exc:
        return None, exc


def _telling(*errors: StoreError | None) -> StoreError:
    """The error that says most: an answer to a HEAD has no body, so S3's refusal of it is a bare status ("400",
    "403": an expired token and an unknown key look alike); the PUT's answer carries S3's code."""
    given = [error for error in errors if error is not None]
    return next((error for error in given if not error.code.isdigit()), given[0])


CLAIM_TAKEN = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")  # 409: S3 is writing another
# conditional write of the key at this moment (retried once, then the other writer holds it)
NO_CONDITIONS = ("NotImplemented", "501")


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 90 else f"{seconds // 60} min" if seconds < 5400 else f"{seconds // 3600} h"


def _claim(ctx: Context, store: Store) -> tuple[str, str]:
    """The run's claim on its customer id, before anything else is written: the probe object put only where no
    object is (If-None-Match: *). ("ours", ""), ("taken", what is there) or ("unconditional", S3's code: the
    endpoint does not take the condition, the claim is written without it). Sets ctx.claimed / claim_lost; an
    S3 error is raised, and ctx.claim_error says whether the claim may have been written."""
    w = ctx.world
    body = w.claim_body()
    try:
        for attempt in (1, 2):
            try:
                answer = store.put_bytes(w.probe_key, body, if_absent=True)
            except StoreError as exc:
                if exc.code in ("ConditionalRequestConflict", "409") and attempt == 1:
                    continue
                if exc.code in NO_CONDITIONS:
                    answer = store.put_bytes(w.probe_key, body)
                    ctx.claimed, ctx.claim_etag = True, str(answer.get("ETag") or "")
                    return "unconditional", exc.code
                if exc.code not in CLAIM_TAKEN:
                    raise
                break
            else:
                ctx.claimed, ctx.claim_etag = True, str(answer.get("ETag") or "")
                return "ours", ""
        return _taken(ctx, store, body)
    except StoreError as exc:
        ctx.claim_error = exc.code
        raise


def _taken(ctx: Context, store: Store, body: bytes) -> tuple[str, str]:
    """An object is at the claim's key. Ours after all when a retry of our own write (its answer lost) put it
    there; else another run's, whose age is said (S3's clock)."""
    key = ctx.world.probe_key
    try:
        found = store.get_dated(key)
    except StoreError:
        found = None
    if found is not None and found[0] == body:
        ctx.claimed, ctx.claim_etag = True, store.etag_of(key, body)
        return "ours", ""
    ctx.claim_lost = True
    when = found[1] if found is not None else None
    now = store.server_now()
    age = f", written {_age((now - when).total_seconds())} ago" if when is not None and now is not None else ""
    return "taken", f"another run's claim s3://{store.bucket}/{key} is there{age} (the conditional put was refused)"


def step_0_4(ctx: Context) -> str:
    key = ctx.world.probe_key
    try:
        store = ctx.store
    except Exception as exc:  # botocore refusing the settings before any request
        ctx.claim_settled.set()
        raise StepFailed(
            "an S3 client for the settings", f"{type(exc).__name__}: {exc}", catalogue.S3_CLIENT, config_error=True
        ) from None
    ctx.probe_pending = True
    try:  # head, the claim and the bucket's versioning (for the cleanup) are independent: one round trip for all
        (_, head), (claim_answer, put), _versioning = ctx.parallel(
            lambda: _outcome(store.head_bucket), lambda: _outcome(_claim, ctx, store), ctx.bucket_versioning
        )
    finally:
        ctx.claim_settled.set()
    if not ctx.claimed and (ctx.claim_lost or ctx.claim_error in DEFINITE_S3_REFUSALS):
        ctx.probe_pending = False  # S3 said no (or another run holds the id): the claim was not written
        ctx.probe_refused = not ctx.claim_lost
    if head is not None or put is not None:
        error = _telling(head, put)
        raise s3_failed(
            "the bucket answers HEAD and accepts a PUT", error, config_error=error.code in CONFIG_S3_CODES
        ) from None
    claim, detail = claim_answer
    if claim == "taken":
        ctx.probe_pending = False  # nothing written: the claim there is the other run's
        c = ctx.world.customer_id
        raise StepFailed(
            f"customer id {c} free: this run's claim written where no object is (If-None-Match: *)",
            detail,
            catalogue.CUSTOMER_TAKEN.fill(customer=c, sweep=sweep_command_for(ctx.settings)),
            config_error=True,
        )
    done = f"s3://{store.bucket}: head, and the customer id claimed (a conditional put)"
    if not ctx.settings.writes_data:  # a preflight-only run writes nothing else: the claim goes at once
        s3(store.delete, key)
        ctx.probe_pending = False
        done += ", deleted"
    else:
        done += ", kept until the cleanup"
    if claim == "unconditional":
        raise StepWarning(
            "S3 takes a conditional write (If-None-Match: *)",
            f"{done}; but S3 answered {detail} to the condition: written without it",
            catalogue.NO_CONDITIONAL_WRITES.fill(code=detail),
        )
    return done
