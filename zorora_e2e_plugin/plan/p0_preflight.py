"""Phase 0, the hard gate (1 of 2): the API answers (0.1), accepts the token (0.2), runs its business logic
(0.3), and the bucket takes a probe object (0.4). 0.5, the route probes, is in probes.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import diagnose
from ..results import StepFailed, StepSkipped, StepWarning
from ..store import StoreError
from .calls import CONFIG_S3_CODES, DEFINITE_S3_REFUSALS, raw, s3
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
                      f"HTTP {response.status}: redirected to {target}",
                      f"the base URL redirects to {target}: a client following it sends the request to another "
                      "place (and drops the bearer token if the host differs), so nothing about the API or the "
                      "token is proven. Point --base-url (ONA_API_BASE_URL) at the API Gateway URL itself "
                      "(https://<api-id>.execute-api.<region>.amazonaws.com/prod/api/v1)")


def step_0_1(ctx: Context) -> str:
    response = raw(ctx, "GET", "/challengers", params={"customer_id": "test"})
    ctx.preflight = response
    status, body = response.status, response.text
    if response.redirected:
        raise redirect_failure(response)
    if status in (401, 403):
        raise StepFailed("not 401/403", f"HTTP {status}: authentication failed ({body})",
                         diagnose.TOKEN_MISMATCH if status == 401 else diagnose.FORBIDDEN)
    if status == 404:
        raise StepFailed("not 404", f"HTTP 404: {body}",
                         diagnose.ROUTE_MISSING.format(route="GET /challengers (path .../prod/api/v1/challengers)"))
    if status >= 500:
        hint = diagnose.for_http(status, body, "GET /challengers")
        raise StepWarning("200 or 400", f"HTTP {status} — Lambda invoked, but failing: {body}", hint)
    if 200 <= status < 300:
        data = response.json()
        if data is None:
            raise StepFailed("a JSON answer", f"HTTP {status} with a non-JSON body: {body!r}", diagnose.NOT_JSON)
        if not isinstance(data, dict):
            raise StepFailed("one JSON object", f"HTTP {status} with JSON that is not an object: {body}",
                             diagnose.NOT_OBJECT)
    elif diagnose.answer_source(status, body) != "lambda":
        raise StepWarning("2xx, or a 4xx from the Lambda ({\"error\": ...})", f"HTTP {status}: {body}",
                          "an unexpected answer for GET /challengers")
    return f"HTTP {status} in {response.elapsed * 1000:.0f} ms"


def step_0_2(ctx: Context) -> str:
    response = ctx.preflight
    if response is None:
        raise StepSkipped(actual="no answer in 0.1 to judge the token by")
    if response.redirected:  # whoever answered after the redirect never received the token
        raise redirect_failure(response)
    if response.status == 401:
        raise StepFailed("the bearer token is accepted", "HTTP 401: bearer token rejected by the Lambda",
                         diagnose.TOKEN_MISMATCH)
    if response.status == 403:
        raise StepFailed("the bearer token is accepted", "HTTP 403: forbidden", diagnose.FORBIDDEN)
    return f"accepted (HTTP {response.status})"


def step_0_3(ctx: Context) -> str:
    response = raw(ctx, "GET", "/challengers")
    text = response.text
    if response.redirected:
        raise StepWarning("400 naming customer_id", str(redirect_failure(response).actual),
                          "the base URL redirects: see 0.1")
    if diagnose.answer_source(response.status, text) == "lambda":  # 400 in the sandbox; any 4xx of the Lambda's
        if "customer_id" in text.lower():
            return f"HTTP {response.status} naming customer_id: the Lambda parses and validates requests"
        raise StepWarning("a 4xx naming customer_id", f"HTTP {response.status}: {text}",
                          "the Lambda's error message is unclear")
    if response.status >= 500:
        raise StepWarning("400 naming customer_id", f"HTTP {response.status}: {text}",
                          diagnose.for_http(response.status, text, "GET /challengers"))
    if response.status in (401, 403, 404):
        raise StepWarning("400 naming customer_id", f"HTTP {response.status}: {text}",
                          diagnose.for_http(response.status, text, "GET /challengers"))
    return f"HTTP {response.status}"


def step_0_4(ctx: Context) -> str:
    key = ctx.world.probe_key
    try:
        store = ctx.store
    except Exception as exc:  # botocore refusing the settings before any request
        raise StepFailed("an S3 client for the settings", f"{type(exc).__name__}: {exc}",
                         "check --region/AWS_REGION, --s3-endpoint-url and the AWS credentials",
                         config_error=True) from None
    ctx.probe_pending = True
    try:  # head, put and the bucket's versioning (for the cleanup) are independent: one round trip for all
        ctx.parallel(store.head_bucket, lambda: store.put_bytes(key, b"zorora-e2e preflight probe"),
                     ctx.bucket_versioning)
    except StoreError as exc:
        if exc.code in DEFINITE_S3_REFUSALS:
            ctx.probe_pending = False  # S3 said no: the probe was not written
        raise StepFailed("the bucket answers HEAD and accepts a PUT", f"S3 error {exc}", diagnose.for_s3(exc.code),
                         config_error=exc.code in CONFIG_S3_CODES) from None
    s3(store.delete, key)
    ctx.probe_pending = False
    return f"s3://{store.bucket}: head, put and delete of a probe object"
