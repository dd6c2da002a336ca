"""The user's validation plan, phases 0-5, as declared steps.

Step ids are the plan's numbers (spec/000_1d090d52a9ef9044.txt): whoever holds
the plan finds step 3.1 here as `step_3_1`. Steps raise StepFailed with what was
expected, what came back, and a hint that names the cause. Independent steps
share a wave and run concurrently: round trips, not CPU, decide the run time.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote, urlsplit

from . import diagnose
from .client import Cancelled, OnaError, RawHttp
from .fixtures import (CHALLENGER_METRICS, ERROR_REASON, EXPECTED_IMPROVEMENT, GATE_REASON, GATE_UNDO_REASON,
                       PROBE_MODEL, PROBE_REASON, PRODUCTION_METRICS, PROMOTE_REASON, ROLLBACK_REASON, SHORT_REASON,
                       UNKNOWN_MODEL, TestWorld, stamp)
from .results import PHASE_NAMES, StepFailed, StepSkipped, StepWarning
from .runner import Phase, Step
from .settings import DEFAULT_REGION, Settings
from .store import Store, StoreError
from .sweep import command as sweep_command


@dataclasses.dataclass
class Context:
    """Everything the steps share. Steps of one wave touch disjoint fields."""

    settings: Settings
    client: Any  # ZororaClient | DirectClient
    raw: RawHttp
    store_factory: Callable[[], Store]
    world: TestWorld
    preflight: Any = None  # 0.1's RawResponse, reused by 0.2
    owns_prefixes: bool = False  # 1.1 proved them empty: cleanup may delete under them
    wrote: bool = False  # phase 1 may have written the test world
    probe_pending: bool = False  # 0.4's probe object may exist
    prefixes_proven_empty: bool = False  # 0.5 listed the customer's prefixes after its probes: empty
    gate_written: bool = False  # phase 4's setup added the challenger that fails its gates
    gate_error: Optional[StepFailed] = None  # ... or why it could not
    snapshot: Optional[Dict] = None  # registry bytes + audit events, for phase 4's side-effect check
    written: set = dataclasses.field(default_factory=set)  # keys phase 1 wrote (or tried to)
    archives: Optional[List[str]] = dataclasses.field(default_factory=list)  # archive keys as last listed;
    # None: the API was asked to promote/roll back since, so it may have written archives not seen yet
    cleanup: Any = dataclasses.field(default_factory=lambda: CleanupState())
    _store: Optional[Store] = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store

    def parallel(self, *calls: Callable[[], Any]) -> List[Any]:
        """Run independent calls at once; results in order; the first exception is raised."""
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(c) for c in calls]
            return [f.result() for f in futures]


class Checks:
    """Collects every broken expectation of a step, then fails once with all of them."""

    def __init__(self):
        self.failures: List[tuple] = []

    def that(self, ok: bool, expected: str, actual: Any, hint: str = "") -> bool:
        if not ok:
            self.failures.append((expected, _short(actual), hint))
        return ok

    def equal(self, label: str, actual: Any, expected: Any, hint: str = "") -> bool:
        return self.that(actual == expected, f"{label} == {expected!r}", f"{label} = {actual!r}", hint)

    def done(self, detail: str = "") -> str:
        if self.failures:
            expected = "; ".join(f[0] for f in self.failures)
            actual = "; ".join(f[1] for f in self.failures)
            hint = next((f[2] for f in self.failures if f[2]), "")
            raise StepFailed(expected, actual, hint)
        return detail


def _short(value: Any) -> str:
    """As text. Never cut here: the runner redacts secrets first and cuts after, so that a token cut in
    half can never slip past the redaction."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


class _MetricsError(Exception):
    def __init__(self, error: OnaError):
        super().__init__(error.message)
        self.error = error


def _call(fn: Callable, *args, route: str = "", expected: str = "") -> Any:
    """Run a client operation; turn its error into a StepFailed with a diagnosis (a metrics lookup's error
    comes back as _MetricsError: its 404 needs one more look)."""
    try:
        data = fn(*args)
    except Cancelled as exc:
        raise StepFailed(expected or "the command calls the API", exc.message,
                         "Zorora's promote/rollback need ZORORA_AUTO_CONFIRM=true when run without a UI; "
                         "something reset it during the call") from None
    except OnaError as exc:
        if route.startswith("GET /metrics") and exc.status is not None:
            raise _MetricsError(exc) from None
        raise StepFailed(expected or "the command succeeds",
                         f"{'HTTP %s: ' % exc.status if exc.status else ''}{exc.message}",
                         diagnose.for_http(exc.status, exc.message + " " + exc.body, route)) from None
    if not isinstance(data, dict):
        raise StepFailed("a JSON object", f"{type(data).__name__}: {_short(data)}",
                         f"{route} answered JSON that is not an object: " + diagnose.NOT_JSON)
    return data


DEFINITE_S3_REFUSALS = {"NoSuchBucket", "404", "NoCredentials", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                        "AccessDenied", "403", "InvalidBucketName", "EndpointConnectionError"}
CONFIG_S3_CODES = {"NoSuchBucket", "404", "NoCredentials", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                   "InvalidBucketName", "PermanentRedirect", "AuthorizationHeaderMalformed"}


def _s3(fn: Callable, *args) -> Any:
    try:
        return fn(*args)
    except StoreError as exc:
        raise StepFailed("S3 answers", f"S3 error {exc}", diagnose.for_s3(exc.code)) from None


def _raw(ctx: Context, method: str, path: str, **kwargs):
    """A RawHttp request whose transport errors become a diagnosed StepFailed."""
    import requests

    try:
        return ctx.raw.send(method, path, **kwargs)
    except requests.exceptions.Timeout:
        raise StepFailed("an answer within --timeout", f"no answer within {ctx.settings.timeout:g}s",
                         diagnose.COLD_START) from None
    except requests.exceptions.SSLError as exc:
        raise StepFailed("a TLS connection to the API", f"TLS failure: {_reason(exc)}", diagnose.TLS,
                         config_error=True) from None
    except requests.exceptions.ConnectionError as exc:
        if _is_dns_failure(exc):
            host = urlsplit(ctx.settings.base_url).hostname
            raise StepFailed("the API host resolves", f"cannot resolve host {host!r}",
                             diagnose.DNS, config_error=True) from None
        raise StepFailed("the API accepts connections", f"cannot connect: {_reason(exc)}",
                         diagnose.CONNECT) from None
    except requests.exceptions.RequestException as exc:
        raise StepFailed("an HTTP answer", f"{type(exc).__name__}: {_reason(exc)}", diagnose.CONNECT) from None


def _is_dns_failure(exc: BaseException) -> bool:
    seen = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args and
                                                      isinstance(seen.args[0], BaseException) else None)
    text = str(exc)
    return any(m in text for m in ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
                                   "Temporary failure in name resolution", "NameResolutionError"))


def _reason(exc: BaseException) -> str:
    """The innermost message of a requests/urllib3 error, not the whole retry chain."""
    text = str(exc)
    for marker in ("CERTIFICATE_VERIFY_FAILED", "Connection refused", "Connection reset", "timed out"):
        if marker in text:
            return marker
    return text


# ---------------------------------------------------------------------------------------------
# Phase 0: preflight, the hard gate
# ---------------------------------------------------------------------------------------------

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


def _redirect_failure(response) -> StepFailed:
    target = _redirect_target(response.location) if response.location else "(no Location header)"
    return StepFailed("an answer from the API itself, not a redirect",
                      f"HTTP {response.status}: redirected to {target}",
                      f"the base URL redirects to {target}: a client following it sends the request to another "
                      "place (and drops the bearer token if the host differs), so nothing about the API or the "
                      "token is proven. Point --base-url (ONA_API_BASE_URL) at the API Gateway URL itself "
                      "(https://<api-id>.execute-api.<region>.amazonaws.com/prod/api/v1)")


def step_0_1(ctx: Context) -> str:
    response = _raw(ctx, "GET", "/challengers", params={"customer_id": "test"})
    ctx.preflight = response
    status, body = response.status, response.text
    if response.redirected:
        raise _redirect_failure(response)
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
        raise _redirect_failure(response)
    if response.status == 401:
        raise StepFailed("the bearer token is accepted", "HTTP 401: bearer token rejected by the Lambda",
                         diagnose.TOKEN_MISMATCH)
    if response.status == 403:
        raise StepFailed("the bearer token is accepted", "HTTP 403: forbidden", diagnose.FORBIDDEN)
    return f"accepted (HTTP {response.status})"


def step_0_3(ctx: Context) -> str:
    response = _raw(ctx, "GET", "/challengers")
    text = response.text
    if response.redirected:
        raise StepWarning("400 naming customer_id", str(_redirect_failure(response).actual),
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
    try:  # head and put are independent: one round trip for both
        ctx.parallel(store.head_bucket, lambda: store.put_bytes(key, b"zorora-e2e preflight probe"))
    except StoreError as exc:
        if exc.code in DEFINITE_S3_REFUSALS:
            ctx.probe_pending = False  # S3 said no: the probe was not written
        raise StepFailed("the bucket answers HEAD and accepts a PUT", f"S3 error {exc}", diagnose.for_s3(exc.code),
                         config_error=exc.code in CONFIG_S3_CODES) from None
    _s3(store.delete, key)
    ctx.probe_pending = False
    return f"s3://{store.bucket}: head, put and delete of a probe object"


PROBE_ATTEMPTS = 4  # as Zorora's client: a 5xx (or a throttle) is retried 3 times before it counts


def _probe(ctx: Context, method: str, path: str, **kwargs) -> Any:
    """One harmless request; a RawResponse, or the transport error as text. 5xx/429 are retried as Zorora's
    client would (only a failing target pays for the extra round trips)."""
    import requests

    answer: Any = None
    for _attempt in range(PROBE_ATTEMPTS):
        try:
            answer = ctx.raw.send(method, path, **kwargs)
        except requests.exceptions.Timeout:
            return f"no answer within {ctx.settings.timeout:g}s"
        except requests.exceptions.RequestException as exc:
            return f"cannot connect: {_reason(exc)}"
        if answer.status < 500 and answer.status != 429:
            return answer
    return answer


def _route_probes(ctx: Context) -> Dict[str, tuple]:
    """label -> (method, path, kwargs): one request per route the promotion needs beyond GET /challengers
    (0.1/0.3), each unable to change anything on a validating server."""
    c, actor = ctx.world.customer_id, ctx.settings.actor
    return {
        "metrics": ("GET", f"/metrics/{c}/{PROBE_MODEL}", {}),  # an id with '/', as every real model id
        "metrics-plain": ("GET", f"/metrics/{PROBE_MODEL}", {}),  # without: tells a non-greedy route apart
        "diff": ("GET", "/diff", {}),  # no parameters
        "audit-log": ("GET", "/audit-log", {}),  # no customer_id
        "promote": ("POST", "/promote", {"json_data": {"customer_id": c, "model_id": f"{c}/{PROBE_MODEL}",
                                                       "reason": PROBE_REASON, "force": False, "actor": actor}}),
        "rollback": ("POST", "/rollback", {"json_data": {"customer_id": c, "reason": PROBE_REASON,
                                                         "actor": actor}}),
    }


ROUTE_NAMES = {"metrics": "GET /metrics/{model_id+}", "diff": "GET /diff", "audit-log": "GET /audit-log",
               "promote": "POST /promote", "rollback": "POST /rollback"}


def step_0_5(ctx: Context) -> str:
    """Every other route the promotion needs answers from the Lambda; then the run's customer is proven
    untouched (its three prefixes empty)."""
    probes = _route_probes(ctx)
    labels = list(probes)
    answers = dict(zip(labels, ctx.parallel(*[
        (lambda m=m, p=p, k=k: _probe(ctx, m, p, **k)) for m, p, k in probes.values()])))
    missing, broken, refused, acted, fine = [], [], [], [], []
    hints: List[str] = []

    def shown(answer) -> str:
        return answer if isinstance(answer, str) else f"HTTP {answer.status} {answer.text[:160]}"

    for label, route in ROUTE_NAMES.items():
        answer = answers[label]
        if isinstance(answer, str):
            broken.append(f"{route}: {answer}")
            hints.append(diagnose.COLD_START if "no answer" in answer else diagnose.CONNECT)
            continue
        source = diagnose.answer_source(answer.status, answer.text)
        if label == "metrics" and source == "gateway":
            plain = answers["metrics-plain"]
            if not isinstance(plain, str) and diagnose.answer_source(plain.status, plain.text) not in ("gateway",
                                                                                                      "other"):
                broken.append(f"{route}: not greedy — an id with '/' gets API Gateway's 404, an id without "
                              f"reaches the Lambda (HTTP {plain.status})")
                hints.append(diagnose.NON_GREEDY)
                continue
        if source == "gateway" or (answer.status == 404 and source == "other"):
            missing.append(route)
        elif source == "auth":
            refused.append(f"{route}: HTTP {answer.status}")
            hints.append(diagnose.for_http(answer.status, answer.text, route))
        elif source == "server" or answer.status == 429:
            broken.append(f"{route}: HTTP {answer.status} {answer.text[:160]}")
            hints.append(diagnose.for_http(answer.status, answer.text, route) or
                         diagnose.SERVER_ERROR.format(status=answer.status))
        elif source == "accepted" and label in ("promote", "rollback"):
            acted.append(f"{route}: {shown(answer)}")
        else:
            fine.append(f"{route.split()[1]} {answer.status}")
    if missing:
        text = diagnose.ROUTE_MISSING.format(route=", ".join(missing))
        hints.insert(0, text.replace("deploy it", "deploy them") if len(missing) > 1 else text)
    if acted:
        hints.insert(0, diagnose.ACTS_WITHOUT_VALIDATING)
        if ctx.settings.fresh_customer:  # the server acted on the run's own customer: phase 5 removes it all
            ctx.owns_prefixes = ctx.wrote = True

    checks = Checks()
    hint = " | ".join(dict.fromkeys(h for h in hints if h))
    checks.that(not acted, "promote/rollback with a 3-character reason are refused",
                "ACCEPTED " + "; ".join(acted), hint)
    checks.that(not missing, "every route deployed (an answer from the Lambda)",
                "not deployed (API Gateway 404): " + ", ".join(missing), hint)
    checks.that(not broken, "every route answers (no 5xx, greedy metrics route)", "; ".join(broken), hint)
    checks.that(not refused, "every route accepts the token", "; ".join(refused), hint)
    leftovers = _preflight_leftovers(ctx, checks)
    checks.done()
    ctx.prefixes_proven_empty = leftovers == []
    return "deployed: " + ", ".join(fine) + "; the customer's prefixes are empty"


def _preflight_leftovers(ctx: Context, checks: Checks) -> Optional[List[str]]:
    """List the customer's three prefixes after the probes (0.4's own probe object aside). Objects there
    are a finding: a server wrote them for requests it refused. Removed by phase 5 when the customer id is
    this run's own; left (and named) when it was given, since they may predate the run."""
    w = ctx.world
    try:
        found = ctx.store.list_many(w.prefixes)
    except Exception as exc:  # a StoreError, or no S3 client for these settings (0.4 says which)
        checks.that(False, "the customer's prefixes listed after the probes", f"S3 error {exc}",
                    diagnose.for_s3(getattr(exc, "code", "")))
        if ctx.wrote:  # a probe was accepted: what the server wrote cannot be named without a listing
            ctx.written.update(p + "*" for p in w.prefixes)
        return None
    keys = sorted(k for ks in found.values() for k in ks if k != w.probe_key)
    if keys:
        if ctx.settings.fresh_customer:
            ctx.owns_prefixes = ctx.wrote = True
            ctx.written.update(keys)  # named, should S3 refuse the cleanup's listing
            what = "removed by the cleanup (phase 5)"
        else:
            what = "not removed: they may predate this run (--customer-id)"
        checks.that(False, "the customer's prefixes are empty after the preflight's refused requests",
                    f"{len(keys)} object(s): {', '.join(keys[:5])} — {what}",
                    "the server wrote to S3 for a request it refused (or an earlier run left data under this "
                    f"customer): remove it with `{sweep_command_for(ctx.settings)}`")
    return keys


# ---------------------------------------------------------------------------------------------
# Phase 1: the test world
# ---------------------------------------------------------------------------------------------

def step_1_1(ctx: Context) -> str:
    world = ctx.world
    stamps = (f"UTC stamps: production {stamp(world.production_time)}, challenger "
              f"{stamp(world.challenger_trained_time)}")
    if ctx.prefixes_proven_empty:  # 0.5 listed them after its probes, a moment ago: no second listing
        ctx.owns_prefixes = True
        return stamps + "; prefixes proven empty in 0.5"
    found = _s3(ctx.store.list_many, world.prefixes)
    existing = [key for keys in found.values() for key in keys]
    if existing:
        raise StepFailed("the customer's prefixes are empty before writing",
                         f"{len(existing)} object(s) already there, e.g. {existing[0]}",
                         "refusing to write over existing data: choose another --customer-id, or remove stale "
                         "test data with `zorora-e2e sweep`")
    ctx.owns_prefixes = True
    return stamps + "; prefixes empty"


NEVER_SENT = {"EndpointConnectionError"}  # S3 was not reached: the object certainly was not written


def _put(ctx: Context, key: str, document: Dict) -> str:
    ctx.wrote = True
    ctx.written.add(key)  # before the request: a timeout may still have written it
    try:
        ctx.store.put_json(key, document)
    except StoreError as exc:
        if exc.code in NEVER_SENT:
            ctx.written.discard(key)
        raise StepFailed("S3 answers", f"S3 error {exc}", diagnose.for_s3(exc.code)) from None
    return "wrote " + key.replace(ctx.world.customer_id, "{C}")


def step_1_2(ctx: Context) -> str:
    return _put(ctx, ctx.world.registry_key, ctx.world.registry())


def step_1_3(ctx: Context) -> str:
    return _put(ctx, ctx.world.production_metrics_key, PRODUCTION_METRICS)


def step_1_4(ctx: Context) -> str:
    entry = ctx.world.challenger_entry()
    summary = entry["evaluation_summary"]
    mae = (PRODUCTION_METRICS["backtest"]["mae"] - CHALLENGER_METRICS["backtest"]["mae"]) \
        / PRODUCTION_METRICS["backtest"]["mae"] * 100
    checks = Checks()
    checks.equal("status", entry["status"], "evaluated")
    checks.equal("verdict", summary["verdict"], "eligible")
    checks.equal("mae_improvement_pct", summary["mae_improvement_pct"], round(EXPECTED_IMPROVEMENT["mae_pct"], 1))
    checks.equal("rmse_improvement_pct", summary["rmse_improvement_pct"],
                 round(EXPECTED_IMPROVEMENT["rmse_pct"], 1))
    checks.that(mae >= 5, "metrics improve MAE by >= 5%", f"{mae:.2f}%")
    return checks.done(f"evaluated, eligible, MAE {mae:.2f}% better; written with the registry in 1.2")


def step_1_5(ctx: Context) -> str:
    return _put(ctx, ctx.world.challenger_metrics_key, CHALLENGER_METRICS)


def step_1_6(ctx: Context) -> str:
    return _put(ctx, ctx.world.audit_key, ctx.world.audit_log())


# ---------------------------------------------------------------------------------------------
# Phase 2: read-only commands
# ---------------------------------------------------------------------------------------------

def step_2_1(ctx: Context) -> str:
    world = ctx.world
    data = _call(ctx.client.list_challengers, world.customer_id, route="GET /challengers")
    checks = Checks()
    hint = diagnose.WRONG_BUCKET.format(bucket=ctx.settings.bucket)
    checks.equal("customer_id", data.get("customer_id"), world.customer_id)
    challengers = data.get("challengers") or []
    if checks.equal("count", data.get("count"), 1, hint) and checks.equal("len(challengers)", len(challengers), 1):
        checks.equal("challengers[0].model_id", challengers[0].get("model_id"), world.challenger_model_id)
        checks.equal("challengers[0].status", challengers[0].get("status"), "evaluated")
        checks.that("evaluated_at" in challengers[0], "challengers[0] has evaluated_at", challengers[0])
    return checks.done(f"1 challenger: {world.challenger_model_id}")


def _metrics_step(ctx: Context, model_id: str, expected: Dict, key: str) -> str:
    try:
        data = _call(ctx.client.show_metrics, model_id, route="GET /metrics/{model_id+}")
    except _MetricsError as failure:
        exc = failure.error
        text = exc.message + " " + exc.body
        hint = diagnose.for_http(exc.status, text, "GET /metrics/{model_id+}")
        if exc.status == 404:
            hint = _metrics_404_hint(ctx, model_id, key, gateway=diagnose.is_gateway_404(404, text))
        raise StepFailed(f"metrics for {model_id}", f"{'HTTP %s: ' % exc.status if exc.status else ''}"
                         f"{exc.message}", hint) from None
    checks = Checks()
    checks.equal("model_id", data.get("model_id"), model_id)
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    backtest = metrics.get("backtest") if isinstance(metrics.get("backtest"), dict) else {}
    checks.equal("metrics.backtest.mae", backtest.get("mae"), expected["backtest"]["mae"])
    checks.equal("metrics.backtest.rmse", backtest.get("rmse"), expected["backtest"]["rmse"])
    return checks.done(f"mae {backtest.get('mae')}, rmse {backtest.get('rmse')}")


def _metrics_404_hint(ctx: Context, model_id: str, key: str, gateway: bool) -> str:
    """The metrics object exists (phase 1 wrote it). Ask once more with the id URL-encoded to tell a
    non-greedy route from a missing route or a key mismatch in the Lambda."""
    try:
        encoded = ctx.raw.send("GET", "/metrics/" + quote(model_id, safe=""))
    except Exception:
        return diagnose.NON_GREEDY if gateway else diagnose.METRICS_KEY.format(key=key)
    encoded_gateway = diagnose.is_gateway_404(encoded.status, encoded.text)
    if gateway and encoded_gateway:
        return diagnose.ROUTE_MISSING.format(route="GET /metrics/{model_id+}")
    if gateway:
        extra = "" if encoded.status == 200 else (
            f"; the URL-encoded id reaches the Lambda but answers HTTP {encoded.status} too, so its lookup "
            f"must also handle '/' ({key})")
        return diagnose.NON_GREEDY + extra
    return diagnose.METRICS_KEY.format(key=key)


def step_2_2(ctx: Context) -> str:
    w = ctx.world
    return _metrics_step(ctx, w.challenger_model_id, CHALLENGER_METRICS, w.challenger_metrics_key)


def step_2_3(ctx: Context) -> str:
    w = ctx.world
    return _metrics_step(ctx, w.production_model_id, PRODUCTION_METRICS, w.production_metrics_key)


IMPROVEMENT_TOLERANCE = 0.01  # accepts 8.44 and 8.4444...


def step_2_4(ctx: Context) -> str:
    w = ctx.world
    data = _call(ctx.client.diff, w.challenger_model_id, w.production_model_id, route="GET /diff")
    checks = Checks()
    checks.equal("challenger_id", data.get("challenger_id"), w.challenger_model_id)
    checks.equal("production_id", data.get("production_id"), w.production_model_id)
    checks.equal("verdict", data.get("verdict"), "eligible")
    improvement = data.get("improvement") if isinstance(data.get("improvement"), dict) else {}
    for name, expected in EXPECTED_IMPROVEMENT.items():  # the value, not a bound: 900 is not "> 5" enough
        value = improvement.get(name)
        checks.that(isinstance(value, (int, float)) and not isinstance(value, bool)
                    and abs(value - expected) <= IMPROVEMENT_TOLERANCE,
                    f"improvement.{name} == {expected:.2f} ± {IMPROVEMENT_TOLERANCE}", f"{name} = {value!r}",
                    "the diff must be (production - challenger) / production * 100 on the backtest metrics "
                    f"(MAE {PRODUCTION_METRICS['backtest']['mae']} -> {CHALLENGER_METRICS['backtest']['mae']}, "
                    f"RMSE {PRODUCTION_METRICS['backtest']['rmse']} -> {CHALLENGER_METRICS['backtest']['rmse']})")
    checks.equal("regressions", data.get("regressions"), [])
    return checks.done(f"eligible: MAE {improvement.get('mae_pct')}%, RMSE {improvement.get('rmse_pct')}%")


def step_2_5(ctx: Context) -> str:
    w = ctx.world
    data = _call(ctx.client.audit_log, w.customer_id, route="GET /audit-log")
    checks = Checks()
    checks.equal("customer_id", data.get("customer_id"), w.customer_id)
    checks.equal("count", data.get("count"), 0)
    checks.equal("len(events)", len(data.get("events") or []), 0)
    return checks.done("0 events")


# ---------------------------------------------------------------------------------------------
# Phase 3: promote and rollback, with the S3 state checked after each
# ---------------------------------------------------------------------------------------------

def _state(ctx: Context, with_archives: bool = False) -> Dict:
    """Registry (parsed + bytes), audit events and, optionally, archive keys — read concurrently."""
    w, store = ctx.world, ctx.store
    calls = [lambda: store.get_json(w.registry_key), lambda: store.get_json(w.audit_key)]
    if with_archives:
        calls.append(lambda: store.list_keys(w.archive_prefix))
    try:
        answers = ctx.parallel(*calls)
    except StoreError as exc:
        raise StepFailed("S3 state readable", f"S3 error {exc}", diagnose.for_s3(exc.code)) from None
    (registry, registry_raw), (audit, _) = answers[0], answers[1]
    return {"registry": registry or {}, "registry_raw": registry_raw,
            "events": (audit or {}).get("events") or [],
            "archives": answers[2] if with_archives else None}


def _actor_hint(recorded: Any, actor: str) -> str:
    """The run sends the test actor in the body and in X-Actor: any other recorded actor is a third one."""
    if recorded != actor:
        return diagnose.THIRD_ACTOR.format(recorded=recorded, actor=actor)
    return ""


def step_3_1(ctx: Context) -> str:
    w, actor = ctx.world, ctx.settings.actor
    ctx.archives = None
    try:
        answer = ctx.client.promote(w.customer_id, w.challenger_model_id, PROMOTE_REASON)
    except Cancelled as exc:
        raise StepFailed("the promotion is sent", exc.message,
                         "ZORORA_AUTO_CONFIRM was not 'true' when Zorora checked it") from None
    except OnaError as exc:
        text = exc.message + " " + exc.body
        hint = diagnose.for_http(exc.status, text, "a route ml-promote calls (GET /challengers, GET /diff, POST /promote)")
        if "production/latest" in text or (exc.status == 404 and "metrics" in text.lower()):
            hint = diagnose.LATEST_ALIAS
        raise StepFailed("ml-promote succeeds", f"{'HTTP %s: ' % exc.status if exc.status else ''}{exc.message}",
                         hint) from None
    result = answer.get("result") or {}
    state = _state(ctx, with_archives=True)
    registry, events, archives = state["registry"], state["events"], state["archives"]
    ctx.archives = list(archives)
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


def step_3_2(ctx: Context) -> str:
    data = _call(ctx.client.audit_log, ctx.world.customer_id, route="GET /audit-log")
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
        raise StepFailed("the archive objects readable", f"S3 error {exc}", diagnose.for_s3(exc.code)) from None
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
    before = list(ctx.archives or [])
    ctx.archives = None
    result = _call(ctx.client.rollback, w.customer_id, ROLLBACK_REASON, route="POST /rollback",
                   expected="ml-rollback succeeds")
    state = _state(ctx, with_archives=True)
    registry, events = state["registry"], state["events"]
    ctx.snapshot = state
    ctx.archives = list(state["archives"])
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
    detail = _rollback_archive(ctx, checks, before, ctx.archives)
    return checks.done(f"{w.production_model_id} restored; {w.challenger_model_id} archived as rolled_back; "
                       f"audit: rollback by {actor}" + detail)


# ---------------------------------------------------------------------------------------------
# Phase 4: errors are rejected, and leave no trace
# ---------------------------------------------------------------------------------------------

def setup_phase_4(ctx: Context) -> None:
    """After the rollback (so phase 2 saw exactly one challenger): add a second challenger that fails the gates
    every source agrees on (evaluated more than 7 days ago, verdict not_eligible), with its metrics. The
    registry as written here is the "before" picture 4.5 compares with. One round trip (both puts at once)."""
    if ctx.snapshot is None:  # 3.3 did not run: take the "before" picture now
        ctx.snapshot = _state(ctx)
    w = ctx.world
    registry = dict(ctx.snapshot["registry"] or {"customer_id": w.customer_id})
    challengers = registry.get("challengers") if isinstance(registry.get("challengers"), list) else []
    registry["challengers"] = [c for c in challengers if not (isinstance(c, dict) and
                                                               c.get("model_id") == w.gate_challenger_model_id)]
    registry["challengers"].append(w.gate_challenger_entry())
    raw = json.dumps(registry, indent=2).encode()
    ctx.written.update({w.registry_key, w.gate_challenger_metrics_key})
    try:
        ctx.parallel(lambda: ctx.store.put_bytes(w.registry_key, raw),
                     lambda: ctx.store.put_json(w.gate_challenger_metrics_key, CHALLENGER_METRICS))
    except StoreError as exc:  # 4.1-4.4 need no S3: only 4.6 (and 4.5) fail, with this error
        if exc.code in NEVER_SENT:
            ctx.written.discard(w.gate_challenger_metrics_key)
        ctx.gate_error = StepFailed("the gate challenger written to S3", f"S3 error {exc}", diagnose.for_s3(exc.code))
        return
    ctx.snapshot = dict(ctx.snapshot, registry=registry, registry_raw=raw)
    ctx.gate_written = True


def _expect_rejection(ctx: Context, fn: Callable, *args) -> str:
    """The command must be refused: by the client's own checks (no status) or by the Lambda (a 4xx with its
    JSON error: 400, 404, 409, 422 ... — the exact code is not public). Not by a missing route, the token, a
    5xx, or silence."""
    try:
        fn(*args)
    except OnaError as exc:
        if exc.status == 0:  # no answer at all is not a rejection (its URL may well say "challengers")
            raise StepFailed("the command is rejected with an error", f"no answer: {exc.message}",
                             diagnose.for_http(0, exc.message)) from None
        if exc.status is not None and diagnose.answer_source(exc.status, exc.body) in ("gateway", "auth", "server"):
            raise StepFailed("a rejection by the client or the Lambda", f"HTTP {exc.status}: {exc.message}",
                             diagnose.for_http(exc.status, exc.message + " " + exc.body,
                                               "a route ml-promote calls")) from None
        return exc.message
    raise StepFailed("the command is rejected with an error", "it succeeded",
                     "the API accepted an invalid promotion")


def step_4_1(ctx: Context) -> str:
    message = _expect_rejection(ctx, ctx.client.promote, ctx.world.customer_id, UNKNOWN_MODEL, ERROR_REASON)
    if "not found" not in message.lower() and "challenger" not in message.lower():
        raise StepFailed("an error naming the unknown challenger ('not found')", message)
    return f"rejected: {message}"


def step_4_2(ctx: Context) -> str:
    message = _expect_rejection(ctx, ctx.client.promote, ctx.world.customer_id, ctx.world.challenger_model_id,
                                SHORT_REASON)
    low = message.lower()
    if not ("reason" in low and ("10" in low or "length" in low)):
        raise StepFailed("an error about the reason's length", message)
    return f"rejected: {message}"


def step_4_3(ctx: Context) -> str:
    w = ctx.world
    response = _raw(ctx, "POST", "/promote", json_data={
        "customer_id": w.customer_id, "model_id": w.challenger_model_id, "reason": "tiny",
        "force": False, "actor": ctx.settings.actor})
    body = response.text
    source = diagnose.answer_source(response.status, body)
    if source == "accepted":
        raise StepFailed("a 4xx for a 4-character reason", f"HTTP {response.status}: {body}",
                         "the server trusts the client to check the reason: validate len(reason) >= 10 in the Lambda")
    if source == "lambda" and "reason" in body.lower():
        return f"HTTP {response.status}: {body}"
    if source in ("gateway", "auth", "server"):
        raise StepFailed("a 4xx from the Lambda naming the reason", f"HTTP {response.status}: {body}",
                         diagnose.for_http(response.status, body, "POST /promote"))
    raise StepWarning("a 4xx from the Lambda naming the reason", f"HTTP {response.status}: {body}",
                      "rejected, but not for the reason's length, so the server-side check is unproven")


def step_4_4(ctx: Context) -> str:
    response = _raw(ctx, "POST", "/rollback", with_token=False, json_data={
        "customer_id": ctx.world.customer_id, "reason": "End-to-end validation auth check",
        "actor": ctx.settings.actor})
    body = response.text
    if response.status in (401, 403):
        return f"HTTP {response.status} without a token"
    if diagnose.answer_source(response.status, body) in ("accepted", "lambda"):  # business logic answered
        raise StepFailed("HTTP 401 without a token", f"HTTP {response.status}: {body}",
                         "the Lambda serves requests without a bearer token: set USE_BEARER_AUTH=true and make "
                         "check_authentication run before any business logic")
    raise StepFailed("HTTP 401 or 403 without a token", f"HTTP {response.status}: {body}",
                     diagnose.for_http(response.status, body, "POST /rollback"))


GATE_WORDS = ("gate", "stale", "7 day", "fresh", "verdict", "eligible", "evaluat")
BUSY_WORDS = ("concurrent", "in progress", "lock")


def step_4_6(ctx: Context) -> str:
    """The server's own gates: promote the stale, not_eligible challenger with a direct POST /promote (force
    false, a valid reason; Zorora's client-side diff check bypassed). Its own wave: nothing else promotes
    meanwhile, so a "concurrent promotion" answer cannot pass for a gate."""
    w, actor = ctx.world, ctx.settings.actor
    if ctx.gate_error is not None:
        raise ctx.gate_error
    if not ctx.gate_written:
        raise StepSkipped(actual="the gate challenger was not written")
    listed, ctx.archives = ctx.archives, None  # an accepted promotion writes an archive not listed yet
    response = _raw(ctx, "POST", "/promote", json_data={
        "customer_id": w.customer_id, "model_id": w.gate_challenger_model_id, "reason": GATE_REASON,
        "force": False, "actor": actor})
    status, body = response.status, response.text
    source = diagnose.answer_source(status, body)
    expected = "refused, naming a failed gate (evaluated > 7 days ago; verdict not_eligible)"
    if source == "accepted":
        try:
            undo = ctx.raw.send("POST", "/rollback", json_data={"customer_id": w.customer_id,
                                                               "reason": GATE_UNDO_REASON, "actor": actor})
            undone = f"rolled back: HTTP {undo.status}"
        except Exception as exc:  # the cleanup removes everything anyway
            undone = f"rollback failed: {_reason(exc)}"
        raise StepFailed(expected, f"HTTP {status}: the server promoted a challenger that fails its gates ({undone})",
                         diagnose.GATES_SKIPPED)
    if source in ("lambda", "gateway", "auth"):  # refused before acting (a 5xx may have acted half-way)
        ctx.archives = listed
    if source != "lambda":
        raise StepFailed(expected, f"HTTP {status}: {body}", diagnose.for_http(status, body, "POST /promote") or
                         "refused, but not by the Lambda's JSON error: the gate check is unproven")
    data = response.json() or {}
    gates = data.get("failed_gates")
    gate_text = " ".join(str(g) for g in gates) if isinstance(gates, list) else ""
    text = f"{data.get('error')} {gate_text}".lower()
    if any(word in text for word in BUSY_WORDS) and not any(word in gate_text.lower() for word in GATE_WORDS[1:]):
        raise StepFailed(expected, f"HTTP {status}: {body}",
                         "refused as a concurrent promotion, not for its gates: the gate check is unproven "
                         "(another promotion of this customer was in progress)")
    if not any(word in text for word in GATE_WORDS):
        hint = ("refused as unknown: the Lambda did not see the challenger added to the registry"
                if "not found" in text else "refused, but the error names no gate: the gate check is unproven")
        raise StepFailed(expected, f"HTTP {status}: {body}", hint)
    return f"HTTP {status}: {data.get('error')}" + (f" {gates}" if gate_text else "")


def step_4_5(ctx: Context) -> str:
    before, after = ctx.snapshot, _state(ctx)
    checks = Checks()
    checks.that(after["registry_raw"] == before["registry_raw"],
                "registry bytes (as written at the start of phase 4) unchanged by 4.1-4.4 and 4.6",
                "the registry changed", "a rejected request modified the registry")
    new = after["events"][len(before["events"]):]
    checks.that(len(after["events"]) == len(before["events"]),
                f"{len(before['events'])} audit events (unchanged)",
                f"{len(after['events'])} events; new: "
                + ", ".join(f"{e.get('action')} {e.get('model_id')} ({e.get('reason')!r})" for e in new),
                "a rejected request wrote an audit event")
    return checks.done("registry and audit log unchanged")


# ---------------------------------------------------------------------------------------------
# Phase 5: cleanup, always
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class CleanupState:
    deleted: int = 0
    leftover: List[str] = dataclasses.field(default_factory=list)
    kept: bool = False


def step_5_1(ctx: Context) -> str:
    state: CleanupState = ctx.cleanup
    w = ctx.world
    if ctx.settings.keep_data and ctx.owns_prefixes:
        state.kept = True
        raise StepSkipped(actual="kept (--keep-data): " + ", ".join(f"s3://{ctx.store.bucket}/{p}"
                                                                    for p in w.prefixes))
    if not ctx.owns_prefixes:
        # Nothing of ours beyond (maybe) the probe: never delete data this run did not prove it owns.
        try:
            ctx.store.delete(w.probe_key)
        except StoreError as exc:
            state.leftover = [w.probe_key]
            raise StepFailed("the preflight probe deleted", f"S3 error {exc}", diagnose.for_s3(exc.code)) from None
        ctx.probe_pending = False
        return "only the preflight probe could exist; deleted"
    try:
        found = ctx.store.list_many(w.prefixes)
        keys = [k for ks in found.values() for k in ks]
        deleted, failed = ctx.store.delete_keys(keys)
    except StoreError as exc:
        state.leftover = unlisted_leftovers(ctx)
        raise StepFailed("test data deleted", f"S3 error {exc}", diagnose.for_s3(exc.code)) from None
    state.deleted += deleted
    if failed:
        raise StepFailed("every object deleted", f"{len(failed)} not deleted: {', '.join(failed[:5])}",
                         "check s3:DeleteObject permission")
    return f"deleted {deleted} object(s) in {1 + len(keys) // 1000} batch(es)"


def step_5_2(ctx: Context) -> str:
    state: CleanupState = ctx.cleanup
    w = ctx.world
    if state.kept:
        raise StepSkipped(actual="kept (--keep-data)")
    if not ctx.owns_prefixes:
        if ctx.probe_pending:
            raise StepFailed("the preflight probe deleted", f"s3://{ctx.settings.bucket}/{w.probe_key} may be left",
                             remove_hint(ctx))
        return "nothing else was written"
    leftover: List[str] = []
    for attempt in range(3):  # a request still in flight at Ctrl-C may land after 5.1
        try:
            found = ctx.store.list_many(w.prefixes)
            leftover = [k for ks in found.values() for k in ks]
            state.leftover = list(leftover)  # not proven deleted until a listing shows them gone
            if not leftover or attempt == 2:
                break
            deleted, _ = ctx.store.delete_keys(leftover)
            state.deleted += deleted
        except StoreError as exc:
            state.leftover = state.leftover or unlisted_leftovers(ctx)
            raise StepFailed("the run's prefixes are empty", f"cannot list them: S3 error {exc}",
                             remove_hint(ctx)) from None
    state.leftover = leftover
    if leftover:
        raise StepFailed("the run's prefixes are empty", f"{len(leftover)} object(s) left: {', '.join(leftover[:5])}",
                         remove_hint(ctx))
    return "customer_tailored/, model_metrics/ and audit_logs/ prefixes of the run are empty"


def unlisted_leftovers(ctx: Context) -> List[str]:
    """What is left when S3 cannot be listed: the keys phase 1 wrote, the probe if it may exist, and the
    archive objects the API created: by name when listed since the last promote/rollback, else the folder
    (`…/archived/*`), whose names only a listing can tell."""
    keys = set(ctx.written)
    if ctx.probe_pending:
        keys.add(ctx.world.probe_key)
    if ctx.wrote:
        if ctx.archives is None:
            keys.add(ctx.world.archive_prefix + "*")
        else:
            keys.update(ctx.archives)
    return sorted(keys)


def sweep_command_for(settings: Settings) -> str:
    region = settings.region if settings.region != DEFAULT_REGION else None
    return sweep_command(settings.customer_id, settings.bucket, region, settings.s3_endpoint_url)


def remove_hint(ctx: Context) -> str:
    bucket = ctx.settings.bucket
    commands = "; ".join(f"aws s3 rm --recursive s3://{bucket}/{p}" for p in ctx.world.prefixes)
    return f"remove them with `{sweep_command_for(ctx.settings)}` or: {commands}"


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------

def phases() -> List[Phase]:
    return [
        Phase(0, PHASE_NAMES[0], (
            (Step("0.1", "API Gateway reachable (GET /challengers)", step_0_1),
             Step("0.3", "Lambda business logic active (400 without customer_id)", step_0_3, critical=False),
             Step("0.4", "S3 bucket accessible (head, put + delete probe)", step_0_4),
             Step("0.5", "Every route deployed (a harmless request each); the customer's prefixes empty",
                  step_0_5)),
            (Step("0.2", "Bearer token accepted", step_0_2),),
        )),
        Phase(1, PHASE_NAMES[1], (
            (Step("1.1", "UTC timestamps; the customer's prefixes are empty", step_1_1),),
            (Step("1.2", "Registry: production + challenger (1.2 + 1.4)", step_1_2, requires=("1.1",)),
             Step("1.3", "Production metrics", step_1_3, requires=("1.1",)),
             Step("1.4", "Challenger entry is eligible", step_1_4, requires=("1.1",)),
             Step("1.5", "Challenger metrics", step_1_5, requires=("1.1",)),
             Step("1.6", "Empty audit log", step_1_6, requires=("1.1",))),
        )),
        Phase(2, PHASE_NAMES[2], (
            (Step("2.1", "ml-list-challengers: the test challenger", step_2_1),
             Step("2.2", "ml-show-metrics: challenger", step_2_2),
             Step("2.3", "ml-show-metrics: production", step_2_3),
             Step("2.4", "ml-diff: eligible", step_2_4),
             Step("2.5", "ml-audit-log: empty", step_2_5)),
        )),
        Phase(3, PHASE_NAMES[3], (
            (Step("3.1", "ml-promote: registry, archive, audit in S3", step_3_1),),
            (Step("3.2", "ml-audit-log after promotion", step_3_2, critical=False, requires=("3.1",)),),
            (Step("3.3", "ml-rollback: production restored, audit", step_3_3, requires=("3.1",)),),
        )),
        Phase(4, PHASE_NAMES[4], (
            (Step("4.1", "ml-promote unknown challenger is rejected", step_4_1),
             Step("4.2", "ml-promote short reason is rejected", step_4_2),
             Step("4.3", "Server rejects a short reason (direct POST)", step_4_3),
             Step("4.4", "Server rejects a request without token", step_4_4)),
            (Step("4.6", "Server refuses a challenger that fails its gates (direct POST)", step_4_6),),
            (Step("4.5", "No side effects: registry and audit unchanged", step_4_5),),
        ), setup=setup_phase_4),
    ]


def cleanup_phase() -> Phase:
    return Phase(5, PHASE_NAMES[5], (
        (Step("5.1", "Delete the run's test data (batched)", step_5_1),),
        (Step("5.2", "Prove the run's prefixes are empty", step_5_2),),
    ))
