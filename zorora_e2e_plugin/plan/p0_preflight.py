"""Phase 0, the hard gate (1 of 2): the API answers (0.1), accepts the token (0.2), runs its business logic
(0.3), and the bucket takes a probe object (0.4). 0.5, the route probes, is in probes.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..core import catalogue
from ..core.diagnosis import unclassified
from ..core.outcomes import StepFailed, StepSkipped, StepWarning
from ..s3.store import StoreError
from .calls import CONFIG_S3_CODES, DEFINITE_S3_REFUSALS, raw, s3, s3_failed
from .context import Context


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


def redirect_failure(response) -> StepFailed:
    target = _redirect_target(response.location) if response.location else "(no Location header)"
    return StepFailed("an answer from the API itself, not a redirect",
                      f"HTTP {response.status}: redirected to {target}", catalogue.REDIRECT.fill(target=target))


def _wait(event, ctx: Context) -> bool:
    """Wait for the other preflight step's answers (0.1 <-> 0.5), as long as its requests may take."""
    return event.wait(ctx.settings.timeout * 4 + 2)


# the routes 0.5 probes (plan/probes.py), by the label its answers are kept under (ctx.route_answers)
ROUTE_NAMES = {"metrics": "GET /metrics/{model_id+}", "diff": "GET /diff", "audit-log": "GET /audit-log",
               "promote": "POST /promote", "rollback": "POST /rollback"}


def every_route_missing(ctx: Context) -> bool:
    """0.5's probes (waited for) all got API Gateway's own 404: no route exists at this base URL."""
    if not ctx.routes_started.wait(2) or not _wait(ctx.routes_ready, ctx) or not ctx.route_answers:
        return False
    answers = [ctx.route_answers.get(label) for label in ROUTE_NAMES]
    return all(getattr(a, "status", None) is not None and catalogue.answer_source(a.status, a.text) == "gateway"
               for a in answers)


def preflight_source(ctx: Context) -> str:
    """Who answered 0.1's GET /challengers (waited for): answer_source's word, or '' for no answer."""
    if not _wait(ctx.preflight_ready, ctx) or ctx.preflight is None:
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
            raise StepFailed("an API at this base URL", f"HTTP 404 {body.strip()[:80]} from API Gateway itself, "
                             "for every route", catalogue.WRONG_URL.fill(requested=requested),
                             config_error=True)
        raise StepFailed("not 404", f"HTTP 404 for {requested}: {body}",
                         catalogue.route_missing("GET /challengers"))
    if status >= 500:
        hint = catalogue.for_http(status, body, "GET /challengers")
        raise StepWarning("200 or 400", f"HTTP {status} — Lambda invoked, but failing: {body}", hint)
    if 200 <= status < 300:
        data = response.json()
        if data is None:
            raise StepFailed("a JSON answer", f"HTTP {status} with a non-JSON body: {body!r}",
                             catalogue.for_not_json(body))
        if not isinstance(data, dict):
            raise StepFailed("one JSON object", f"HTTP {status} with JSON that is not an object: {body}",
                             catalogue.NOT_OBJECT)
    elif catalogue.answer_source(status, body, response.headers) != "lambda":
        raise StepWarning("2xx, or a 4xx from the Lambda (a JSON error)", f"HTTP {status}: {body}",
                          catalogue.for_http(status, body, "GET /challengers", response.headers) or
                          unclassified("an unexpected answer for GET /challengers"))
    return f"HTTP {status}"  # how long it took is the step's time, beside it


def step_0_2(ctx: Context) -> str:
    response = ctx.preflight
    if response is None:
        raise StepSkipped(actual="no answer in 0.1 to judge the token by")
    if response.redirected:  # whoever answered after the redirect never received the token: 0.1 says so
        raise StepSkipped(actual="not judged: the base URL redirects (see 0.1)")
    if response.status == 401:
        raise StepFailed("the bearer token is accepted", f"HTTP 401: bearer token rejected ({response.text})",
                         catalogue.TOKEN_MISMATCH)
    if response.status == 403:
        raise StepFailed("the bearer token is accepted", f"HTTP 403: forbidden ({response.text})",
                         catalogue.for_http(403, response.text))
    if response.status == 404 or catalogue.answer_source(response.status, response.text) == "gateway":
        raise StepSkipped(actual="not judged: GET /challengers did not reach the Lambda (see 0.1)")
    return f"accepted (HTTP {response.status})"


def step_0_3(ctx: Context) -> str:
    response = raw(ctx, "GET", "/challengers")
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
        raise StepWarning("a 4xx naming customer_id", f"HTTP {response.status}: {text}",
                          unclassified("the Lambda returned an error, but its message does not name customer_id "
                                       "(unclear)"))
    if source == "other" and 400 <= response.status < 500 and response.status != 404:  # the plan: ⚠
        raise StepWarning("a 4xx whose JSON names customer_id", f"HTTP {response.status}, not JSON: {text}",
                          unclassified("the Lambda returned an error whose body is not a JSON object: its message "
                                       "is unclear"))
    if response.status >= 500 or response.status in (401, 403, 404, 429):
        raise StepWarning("400 naming customer_id", f"HTTP {response.status}: {text}",
                          catalogue.for_http(response.status, text, "GET /challengers", response.headers))
    return f"HTTP {response.status}"


def step_0_4(ctx: Context) -> str:
    key = ctx.world.probe_key
    try:
        store = ctx.store
    except Exception as exc:  # botocore refusing the settings before any request
        raise StepFailed("an S3 client for the settings", f"{type(exc).__name__}: {exc}",
                         catalogue.S3_CLIENT,
                         config_error=True) from None
    ctx.probe_pending = True
    try:  # head, put and the bucket's versioning (for the cleanup) are independent: one round trip for all
        ctx.parallel(store.head_bucket, lambda: store.put_bytes(key, b"zorora-e2e preflight probe"),
                     ctx.bucket_versioning)
    except StoreError as exc:
        if exc.code in DEFINITE_S3_REFUSALS:
            ctx.probe_pending = False  # S3 said no: the probe was not written
        raise s3_failed("the bucket answers HEAD and accepts a PUT", exc,
                                 config_error=exc.code in CONFIG_S3_CODES) from None
    s3(store.delete, key)
    ctx.probe_pending = False
    return f"s3://{store.bucket}: head, put and delete of a probe object"
