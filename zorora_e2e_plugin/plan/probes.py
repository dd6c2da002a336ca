"""Step 0.5 (phase 0, 2 of 2): one harmless request per route the promotion needs, each unable to change
anything on a validating server; then the run's customer is proven untouched (its prefixes empty).
"""

from __future__ import annotations

import threading
from typing import Any

from ..client import OnaError, errors
from ..core import catalogue
from ..core.diagnosis import Diagnosis, joined
from ..core.outcomes import StepSkipped
from ..s3.store import StoreError
from .calls import CONFIG_S3_CODES, S3_NOT_REACHED, once_more
from .context import Checks, Context
from .p0_preflight import ROUTE_NAMES, preflight_source, wait_for
from .p5_cleanup import sweep_command_for
from .p5_proof import PREFIX_IGNORED
from .seed_data import PROBE_MODEL, PROBE_REASON

CLAIMED_ELSEWHERE = object()  # 0.5's listing, not taken: another run holds the customer id (0.4)


def _probe(ctx: Context, method: str, path: str, **kwargs: Any) -> Any:
    """One harmless request; a RawResponse, or the OnaError of no answer. A GET's transient errors (502/503/
    504, 429, a dropped connection) are retried by the client (wire/retries.py), and only there; a POST is sent
    again (at most twice) only when API Gateway answered it itself with 429/503 (the Lambda never saw it, and
    on a validating server the probe changes nothing: calls.once_more; the README says so)."""
    try:
        if method != "POST":
            return ctx.raw.send(method, path, **kwargs)
        return once_more(lambda: ctx.raw.send(method, path, **kwargs), f"{method} {path}")
    except OnaError as exc:
        return exc


def _no_answer(ctx: Context, error: OnaError) -> str:
    if error.kind == errors.TIMEOUT:
        return f"no answer within {ctx.settings.timeout:g}s"
    return f"cannot connect: {error.message}"


def _route_probes(ctx: Context) -> dict[str, tuple]:
    """label -> (method, path, kwargs): one request per route the promotion needs beyond GET /challengers
    (0.1/0.3), each unable to change anything on a validating server."""
    c, actor = ctx.world.customer_id, ctx.settings.actor
    return {  # the two that could write go first: the listing of the customer's prefixes waits for them only
        "promote": (
            "POST",
            "/promote",
            {
                "json_data": {
                    "customer_id": c,
                    "model_id": f"{c}/{PROBE_MODEL}",
                    "reason": PROBE_REASON,
                    "force": False,
                    "actor": actor,
                }
            },
        ),
        "rollback": ("POST", "/rollback", {"json_data": {"customer_id": c, "reason": PROBE_REASON, "actor": actor}}),
        "metrics": ("GET", f"/metrics/{c}/{PROBE_MODEL}", {}),  # an id with '/', as every real model id
        "metrics-plain": ("GET", f"/metrics/{PROBE_MODEL}", {}),  # without: tells a non-greedy route apart
        "diff": ("GET", "/diff", {}),  # no parameters
        "audit-log": ("GET", "/audit-log", {}),  # no customer_id
    }


def step_0_5(ctx: Context) -> str:
    """Every other route the promotion needs answers from the Lambda; then the run's customer is proven
    untouched (its three prefixes empty)."""
    ctx.routes_started.set()
    probes = _route_probes(ctx)
    labels = list(probes)
    answered = {label: threading.Event() for label, (method, _p, _k) in probes.items() if method == "POST"}

    def send(label: str) -> Any:
        method, path, kwargs = probes[label]
        try:
            return _probe(ctx, method, path, **kwargs)
        finally:
            if label in answered:
                answered[label].set()

    def listing() -> Any:
        """The customer's prefixes, listed once the probes that could write and 0.4's claim on the customer id have
        their answers (beside the read-only ones: one round trip less). The listing, or the error that stopped it;
        CLAIMED_ELSEWHERE when another run holds the id (its objects are not this run's to judge: 0.4 says so)."""
        for done in answered.values():
            done.wait()
        ctx.claim_settled.wait(ctx.settings.timeout * 4 + 2)
        if ctx.claim_lost:
            return CLAIMED_ELSEWHERE
        try:
            return ctx.store.list_many(ctx.world.prefixes)
        except Exception as exc:  # judged in _preflight_leftovers (0.4 names an S3 that is not usable)
            return exc

    try:
        *replies, prefixes = ctx.parallel(*[(lambda label=label: send(label)) for label in labels], listing)
        answers = dict(zip(labels, replies))
        ctx.route_answers = answers
    finally:
        ctx.routes_ready.set()  # 0.1 may be waiting to tell a wrong base URL from one missing route
    _not_judged(ctx, answers)
    missing, broken, refused, acted, fine, failing, throttled = [], [], [], [], [], [], []
    hints: list[Diagnosis | None] = []

    def shown(answer: Any) -> str:  # a RawResponse, or an OnaError
        return _no_answer(ctx, answer) if isinstance(answer, OnaError) else f"HTTP {answer.status} {answer.text[:160]}"

    for label, route in ROUTE_NAMES.items():
        answer = answers[label]
        if isinstance(answer, OnaError):
            broken.append(f"{route}: {_no_answer(ctx, answer)}")
            hints.append(catalogue.for_error(answer))
            continue
        source = catalogue.answer_source(answer.status, answer.text, answer.headers)
        if label == "metrics" and source == "gateway":
            plain = answers["metrics-plain"]
            if not isinstance(plain, OnaError) and catalogue.answer_source(
                plain.status, plain.text, plain.headers
            ) not in ("gateway", "other"):
                broken.append(
                    f"{route}: not greedy — an id with '/' gets API Gateway's 404, an id without "
                    f"reaches the Lambda (HTTP {plain.status})"
                )
                hints.append(catalogue.NON_GREEDY)
                continue
        if source == "gateway" or (answer.status == 404 and source == "other"):
            missing.append(route)
        elif source == "auth":
            refused.append(f"{route}: HTTP {answer.status}")
            hints.append(catalogue.for_http(answer.status, answer.text, route, answer.headers))
        elif source == "throttled":  # API Gateway's limits, after the read retries: never the Lambda's fault
            throttled.append(f"{route}: HTTP 429")
        elif source == "server":
            failing.append((route, answer))
        elif (
            source == "accepted"
            and label in ("promote", "rollback")
            and answer.json() is None
            and catalogue.for_not_json(answer.text, answer.headers) == catalogue.NOT_JSON
        ):  # a page, not the Lambda
            broken.append(f"{route}: HTTP {answer.status} with a page, not JSON: {answer.text[:120]}")
            hints.append(catalogue.NOT_JSON)
        elif source == "accepted" and label in ("promote", "rollback"):
            acted.append(f"{route}: {shown(answer)}")
        else:
            fine.append(f"{route.split()[1]} {answer.status}")
    # A 5xx to a probe (a deliberately unknown id, a missing parameter) proves the route deployed and the
    # Lambda running: a warning naming the route. The gate fails for a 5xx only where no healthy Lambda
    # answers one: the stage-prefix failure (known), or every route answering 5xx.
    warnings: list[str] = []
    known_broken = [(r, a) for r, a in failing if catalogue.for_http(a.status, a.text, r) == catalogue.STAGE_PREFIX]
    if failing and (known_broken or len(failing) == len(ROUTE_NAMES)):
        for route, answer in failing:
            broken.append(f"{route}: HTTP {answer.status} {answer.text[:160]}")
            hints.append(
                catalogue.for_http(answer.status, answer.text, route, answer.headers)
                or catalogue.SERVER_ERROR.fill(status=answer.status)
            )
    elif failing:
        warnings.append("; ".join(f"{route}: HTTP {answer.status} {answer.text[:120]}" for route, answer in failing))
    if throttled:  # throttled through the retries: the route is unproven; the cause is API Gateway's limits
        broken.append("; ".join(throttled) + " (throttled by API Gateway)")
        hints.append(catalogue.THROTTLED)
    if missing:
        hints.insert(0, catalogue.route_missing(*missing))
    if acted:
        hints.insert(0, catalogue.ACTS_WITHOUT_VALIDATING)
        if ctx.settings.fresh_customer:  # the server acted on the run's own customer: phase 5 removes it all
            ctx.owns_prefixes = ctx.wrote = True

    checks = Checks()
    hint = joined(dict.fromkeys(h for h in hints if h))
    checks.that(
        not acted, "promote/rollback with a 3-character reason are refused", "ACCEPTED " + "; ".join(acted), hint
    )
    checks.that(
        not missing,
        "every route deployed (an answer from the Lambda)",
        "not deployed (API Gateway 404): " + ", ".join(missing),
        hint,
    )
    checks.that(not broken, "every route answers (not every one a 5xx, greedy metrics route)", "; ".join(broken), hint)
    checks.that(not refused, "every route accepts the token", "; ".join(refused), hint)
    if failing and not known_broken and len(failing) < len(ROUTE_NAMES):
        checks.warn(
            "a 4xx for a probe with an unknown id",
            warnings[0],
            catalogue.PROBE_5XX.fill(routes=", ".join(route for route, _ in failing)),
        )
    leftovers = _preflight_leftovers(ctx, checks, prefixes) if prefixes is not CLAIMED_ELSEWHERE else None
    ctx.prefixes_proven_empty = leftovers == [] and not checks.failures
    listed = (
        "the customer's prefixes are empty"
        if leftovers == []
        else "the customer's prefixes not listed (another run is using the customer id: see 0.4)"
        if prefixes is CLAIMED_ELSEWHERE
        else "the customer's prefixes not listed (S3 is not usable: see 0.4)"
    )
    return checks.done("deployed: " + ", ".join(fine) + "; " + listed)


def _not_judged(ctx: Context, answers: dict[str, Any]) -> None:
    """One cause, one finding: when every route answers as 0.1's GET /challengers did (API Gateway's own 404:
    the base URL; 401/403: the token), 0.1 or 0.2 names the cause and 0.5 has nothing of its own to judge."""
    replies = [answers.get(label) for label in ROUTE_NAMES]
    if (
        all(isinstance(a, OnaError) and a.kind in errors.NOT_CONNECTED for a in replies)
        and wait_for(ctx.preflight_ready, ctx)
        and ctx.preflight is None
    ):  # 0.1 got no connection either
        raise StepSkipped(actual="not judged: no connection to the API (see 0.1)")
    if (
        all(
            not isinstance(a, OnaError) and a is not None and 200 <= a.status < 300 and a.json() is None
            for a in replies
        )
        and preflight_source(ctx) == "accepted"
        and ctx.preflight.json() is None
    ):
        raise StepSkipped(actual="not judged: every route answers 2xx with a body that is not JSON (see 0.1)")
    statuses = {getattr(answers.get(label), "status", None) for label in ROUTE_NAMES}
    sources = {
        catalogue.answer_source(a.status, a.text, getattr(a, "headers", None))
        for label in ROUTE_NAMES
        for a in [answers.get(label)]
        if not isinstance(a, OnaError) and a is not None
    }
    if len(sources) != 1 or None in statuses:
        return
    if sources == {"gateway"} and preflight_source(ctx) == "gateway":
        raise StepSkipped(actual="not judged: no route answers at this base URL (see 0.1)")
    if (
        sources == {"auth"}
        and len(statuses) == 1
        and preflight_source(ctx) == "auth"
        and statuses == {ctx.preflight.status}
    ):
        raise StepSkipped(actual=f"not judged: every route refused the token with HTTP {statuses.pop()} (see 0.2)")


def _preflight_leftovers(ctx: Context, checks: Checks, found: Any) -> list[str] | None:
    """The customer's three prefixes as listed after the probes that could write (0.4's own probe object
    aside). Objects there are a finding: a server wrote them for requests it refused. Removed by phase 5 when
    the customer id is this run's own; left (and named) when it was given, since they may predate the run.
    `found`: the listing, or the exception that stopped it."""
    w = ctx.world
    if isinstance(found, Exception):  # a StoreError, or no S3 client for these settings (0.4 says which)
        exc = found
        code = getattr(exc, "code", "")
        if code in CONFIG_S3_CODES or code in S3_NOT_REACHED or not isinstance(exc, StoreError):
            pass  # S3 is not usable with these settings: 0.4's finding (the gate fails), named there once
        else:
            checks.that(
                False, "the customer's prefixes listed after the probes", f"S3 error {exc}", catalogue.for_s3(code)
            )
        if ctx.wrote:  # a probe was accepted: what the server wrote cannot be named without a listing
            ctx.written.update(p + "*" for p in w.prefixes)
        return None
    keys = sorted(k for ks in found.values() for k in ks if k != w.probe_key)
    strays = ctx.store.strays
    ctx.strays_reported = bool(strays)
    checks.that(
        not strays,
        "S3 lists only keys under the prefix asked for",
        f"{PREFIX_IGNORED} (the listing of {w.prefixes[0]} and the others also named {len(strays)} key(s) "
        f"outside them, e.g. {strays[0] if strays else ''})",
        catalogue.PREFIX_IGNORED,
    )
    if keys:
        if ctx.settings.fresh_customer:
            ctx.owns_prefixes = ctx.wrote = True
            ctx.written.update(keys)  # named, should S3 refuse the cleanup's listing
            what = "removed by the cleanup (phase 5)"
        else:
            what = "not removed: they may predate this run (--customer-id)"
        checks.that(
            False,
            "the customer's prefixes are empty after the preflight's refused requests",
            f"{len(keys)} object(s): {', '.join(keys[:5])} — {what}",
            _occupied_hint(ctx, keys),
        )
    return keys


def _occupied_hint(ctx: Context, keys: list[str]) -> Diagnosis:
    """Objects under a customer id the user gave: most likely another run using the same id (it wrote test
    data: metrics or a preflight probe), or one that was killed; else the server wrote for a refused request."""
    c = ctx.world.customer_id
    if not ctx.settings.fresh_customer and any(
        k.startswith((f"model_metrics/{c}/", f"customer_tailored/{c}/preflight-probe-")) for k in keys
    ):
        return catalogue.COLLISION.with_detail(
            f" (or a killed run left them: once no run uses the id, `{sweep_command_for(ctx.settings)}` removes them)"
        )
    if ctx.settings.fresh_customer:  # the run's own new id: only the server can have written there
        return catalogue.SIDE_EFFECT.with_detail(
            " (here: objects under the run's own new customer, written for "
            "0.5's refused probes; the cleanup removes them)"
        )
    return catalogue.COLLISION.with_detail(
        f" (or an earlier run left data under this customer id: `{sweep_command_for(ctx.settings)}` removes it)"
    )
