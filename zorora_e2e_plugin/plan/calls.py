"""How steps call the API and S3: each failure becomes a StepFailed with a diagnosis (by the error's kind,
never by its text), and the S3 state phases 3 and 4 check is read in one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable
from urllib.parse import urlsplit

from ..client import Cancelled, OnaError, RawResponse, errors
from ..core import catalogue
from ..core.outcomes import StepFailed
from ..s3.customer_state import S3State
from ..s3.store import StoreError, aws_profile
from .context import Context, as_text


class MetricsError(Exception):
    def __init__(self, error: OnaError):
        super().__init__(error.message)
        self.error = error


def call(fn: Callable, *args: Any, route: str = "", expected: str = "") -> Any:
    """Run a client operation; turn its error into a StepFailed with a diagnosis (a metrics lookup's error
    comes back as MetricsError: its 404 needs one more look)."""
    try:
        data = fn(*args)
    except Cancelled as exc:
        raise StepFailed(expected or "the command calls the API", exc.message, catalogue.CONFIRM_RESET) from None
    except OnaError as exc:
        if route.startswith("GET /metrics") and exc.status is not None:
            raise MetricsError(exc) from None
        raise api_failed(expected or "the command succeeds", exc, route) from None
    if not isinstance(data, dict):
        raise StepFailed("a JSON object", f"{type(data).__name__}: {as_text(data)}", catalogue.NOT_OBJECT)
    return data


# S3 said no (or botocore never sent it): an object this request would have written is certainly not there
DEFINITE_S3_REFUSALS = {
    "NoSuchBucket",
    "404",
    "AccessDenied",
    "403",
    "InvalidBucketName",
    "EndpointConnectionError",
} | catalogue.S3_CREDENTIAL_CODES
S3_NOT_REACHED = {"EndpointConnectionError", "ConnectTimeoutError"}  # no connection to S3 (0.4 names it)
# S3 unusable with the engineer's settings (bucket, region, endpoint, AWS credentials): exit 2
CONFIG_S3_CODES = {
    "NoSuchBucket",
    "404",
    "InvalidBucketName",
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
} | catalogue.S3_CREDENTIAL_CODES


def s3(fn: Callable, *args: Any) -> Any:
    try:
        return fn(*args)
    except StoreError as exc:
        raise s3_failed("S3 answers", exc) from None


def raw(ctx: Context, method: str, path: str, **kwargs: Any) -> RawResponse:
    """A RawHttp request whose transport errors (by their kind) become a diagnosed StepFailed."""
    try:
        return ctx.raw.send(method, path, **kwargs)
    except OnaError as exc:
        hint = catalogue.for_error(exc)
        if exc.kind == errors.TIMEOUT:
            raise StepFailed(
                "an answer within --timeout", f"no answer within {ctx.settings.timeout:g}s", hint
            ) from None
        if exc.kind == errors.TLS:
            raise StepFailed(
                "a TLS connection to the API", f"TLS failure: {exc.message}", hint, config_error=True
            ) from None
        if exc.kind == errors.DNS:
            host = urlsplit(ctx.settings.base_url).hostname
            raise StepFailed(
                "the API host resolves", f"cannot resolve host {host!r}", hint, config_error=True
            ) from None
        if exc.kind == errors.CONNECT:
            raise StepFailed("the API accepts connections", f"cannot connect: {exc.message}", hint) from None
        raise StepFailed("an HTTP answer", exc.message, hint) from None


NEVER_SENT = {"EndpointConnectionError"}  # S3 was not reached: the object certainly was not written


def read_state(ctx: Context, with_archives: bool = False) -> S3State:
    """Registry (parsed + bytes), audit events and, optionally, archive keys — read concurrently."""
    w, store = ctx.world, ctx.store
    calls: list[Callable[[], Any]] = [lambda: store.get_json(w.registry_key), lambda: store.get_json(w.audit_key)]
    if with_archives:
        calls.append(lambda: store.list_objects(w.archive_prefix))
    try:
        answers = ctx.parallel(*calls)
    except StoreError as exc:
        raise s3_failed("S3 state readable", exc) from None
    (registry, registry_raw), (audit, _) = answers[0], answers[1]
    return S3State(
        registry=registry or {},
        registry_raw=registry_raw,
        events=(audit or {}).get("events") or [],
        archive_objects=answers[2] if with_archives else None,
    )


def gate_writes_done(ctx: Context) -> bool:
    """Wait for phase 4's setup writes, sent in the background beside 4.1-4.4 (p4_errors.setup_phase_4), as long
    as two S3 requests with their retries may take: 4.6, 4.5 and the cleanup wait. False: they have not ended."""
    done = ctx.gate_writes
    return done is None or done.wait(ctx.settings.timeout * 4 + 2)


def unreached(status: int | None, body: str, headers: Mapping[str, str] | None = None) -> bool:
    """API Gateway answered a mutation itself with 429 (throttled) or 503 (the integration unavailable): the
    Lambda never ran it, so it may be sent once more (and only once, after reading the state, for promote and
    rollback). A 500, 502, 504 or a lost answer may have reached the Lambda: never sent again."""
    from ..core.answers import from_gateway

    return status in (429, 503) and from_gateway(status, body or "", headers)


def raw_refusal(ctx: Context, method: str, path: str, **kwargs: Any) -> RawResponse:
    """A request the server must refuse (it changes nothing on a validating server), through raw(): sent once
    more when API Gateway answered it itself with 429/503 (see once_more)."""
    return once_more(lambda: raw(ctx, method, path, **kwargs), f"{method} {path}")


def once_more(send: Callable[[], Any], route: str, wait: float = 0.5) -> Any:
    """send(); again (at most twice more, as a read) while the answer is API Gateway's own 429/503 (the Lambda
    never saw the request), so that a flaky or throttling gateway does not pass for the Lambda's answer.
    Recorded in the step's retry log."""
    import time

    from ..wire.retries import RETRIES, Retry, step_log

    response = send()
    for attempt in range(1, RETRIES + 1):
        if not unreached(response.status, response.text, response.headers):
            return response
        log = step_log()
        if log is not None:
            log.append(Retry(route, attempt, f"HTTP {response.status} from API Gateway"))
        time.sleep(wait * attempt)
        response = send()
    if unreached(response.status, response.text, response.headers):
        log = step_log()
        if log is not None:
            log.append(Retry(route, RETRIES + 1, f"HTTP {response.status} from API Gateway", final=True))
    return response


def s3_failed(expected: str, exc: BaseException, **options: Any) -> StepFailed:
    """The one way an S3 error becomes a failed step: what was expected, what S3 said (in words for the errors
    that never reached S3), and its diagnosis. `options`: StepFailed's (config_error)."""
    code = getattr(exc, "code", "")
    if code == "NoCredentials":
        actual = "no AWS credentials found (none in the environment, the AWS config files or an instance role)"
    elif code in ("EndpointConnectionError", "ConnectTimeoutError"):
        actual = f"S3 did not answer: {exc}"
    else:
        actual = f"S3 error {exc}"
    return StepFailed(expected, actual, catalogue.for_s3(code, aws_profile()), **options)


def api_failed(expected: str, error: OnaError, route: str = "", **options: Any) -> StepFailed:
    """The one way an API error (client.OnaError) becomes a failed step, with its diagnosis."""
    status = getattr(error, "status", None)
    return StepFailed(
        expected,
        f"{f'HTTP {status}: ' if status else ''}{error.message}",
        catalogue.for_error(error, route),
        **options,
    )
