"""Named faults: switches that make the sandbox fail the way the real deployment has failed.

Pure parsing, no I/O; safe to import anywhere. The one place where faults are defined (`_CATALOGUE`), parsed
(`parse_fault`, `parse_faults` for `--fault`) and offered as a flag (`add_fault_flag`, `faults_epilog`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Routes of the API, relative to the base URL (…/prod/api/v1).
ROUTES: tuple[str, ...] = ("/challengers", "/metrics", "/diff", "/promote", "/rollback", "/audit-log")

# usage -> one-line description: the name, with its syntax when it takes a value (<...> a value, [...]
# optional). Every fault is defined here and nowhere else; the name is what comes before ':' or '['.
_CATALOGUE = {
    "stage-prefix": "the Lambda keeps the /prod stage prefix: every route answers 500 'Could not extract customer_id'",
    "bad-token": "the Lambda's INTERNAL_API_TOKEN differs from the client's: every request answers 401",
    "missing-route:<route>": "that route (e.g. /diff) is not deployed: API Gateway answers 404 Not Found",
    "metrics-non-greedy": "the metrics route is {model_id}, not {model_id+}: ids containing '/' answer 404",
    "no-latest-alias": "'<customer>/production/latest' is not resolved: /diff, so ml-promote, answers 404",
    "actor-from-header": "a legitimate variant, not a failure: promoted_by and the audit actor come from the X-Actor "
    "header first (the body's actor second), as the real get_actor_from_event() may do; a run must"
    " pass",
    "fixed-actor": "promoted_by and the audit actor are a fixed service name ('ona-globalTrainingService-prod'), "
    "neither the body's actor nor X-Actor",
    "no-audit": "promote and rollback write no audit event",
    "no-archive": "promotion does not archive the production model it replaces",
    "no-rollback-archive": "rollback restores the previous production but archives nothing (the rolled-back model "
    "vanishes)",
    "keep-restored-archive": "a legitimate variant, not a failure: rollback keeps the 'superseded' archive it restored "
    "(the real function's IAM policy has no s3:DeleteObject); a run must pass",
    "no-gates": "POST /promote ignores the promotion gates (a stale, not_eligible challenger is promoted as if forced)",
    "latency:<ms>": "add <ms> ms to every public API and S3 request",
    "cold-start:<ms>": "the first API request (after start or set_faults) takes <ms> ms longer",
    "flaky:<percent>": "that share of API requests answer 503 Service Unavailable (seeded)",
    # Broken answers. Without a route they hit every route (so the preflight gate catches them); with
    # one (e.g. huge-body:/metrics) only that route, so the phases after the gate are exercised too.
    "html-200[:<route>]": "a proxy or login page answers instead of the API: 200 text/html (the Lambda is never "
    "called)",
    "truncated-json[:<route>]": "the Lambda's 2xx answers are cut in half: 200 with a JSON body that does not parse",
    "huge-body[:<route>]": "the Lambda's 2xx answers are replaced by a 10 MB JSON body without the expected fields",
    "hang[:<route>]": "requests are accepted but never answered (until the sandbox stops: then 504)",
    "noop-promote": "POST /promote checks and answers 200 as usual but changes nothing in S3 (no registry, archive or "
    "audit write)",
    "noop-rollback": "POST /rollback checks and answers 200 as usual but changes nothing in S3",
    # S3 that misbehaves (sandbox/s3_faults.py): the validator must never delete what is not the run's, and
    # must say "nothing left" only when it is true.
    "ignore-prefix": "S3's ListObjectsV2/ListObjectVersions ignore `prefix` (a broken S3-compatible store): every key "
    "comes back",
    "listing-lag:<text>": "S3 listings omit keys containing <text> (an eventually consistent store): the objects exist,"
    " HEAD/GET find them",
    "s3-clock:<seconds>": "S3's clock runs <seconds> ahead of this machine's (negative: behind): its Date headers and "
    "LastModified",
    "no-version-delete": "deleting object versions and delete markers is refused (AccessDenied): no "
    "s3:DeleteObjectVersion",
    "s3-auth": "S3 checks each request's credentials as AWS does: another access key answers 403 InvalidAccessKeyId, "
    "a wrong secret 403 SignatureDoesNotMatch, any session token 400 ExpiredToken (a HEAD: the status "
    "alone, no body); the sandbox's own keys pass",
    "lambda-outlives:<ms>": "POST /promote and /rollback with a valid reason: API Gateway answers 504 at once while the"
    " Lambda runs on; its writes (unconditional) land <ms> later",
    "echo-auth": "every error answer (4xx/5xx) echoes the request's Authorization header in its JSON body",
    # Legitimate variants of the real Lambda (docs/platform.md's "assumed" items done differently): a run must pass.
    "error-key:<key>": "a legitimate variant: the Lambda's errors carry their text under <key> (error-key:message gives"
    ' {"message": "Metrics not found for model ..."}); a run must pass',
    "unknown-id-500": "a legitimate variant: a lookup of an unknown id crashes the Lambda (an uncaught NoSuchKey), so "
    "API Gateway answers 500 Internal Server Error instead of the Lambda's 404; a run must pass (0.5 "
    "warns)",
    "round:<digits>": "a legitimate variant: /diff's percentages are rounded to <digits> decimals (round:1 gives 8.4 / "
    "6.1, as the registry's evaluation_summary holds them); a run must pass",
    "archive-wrapped": 'a legitimate variant: archive documents wrap the entry ({"archived_at", "archive_reason", '
    '"entry": {...}}); a run must pass (3.3 warns)',
    "archive-reason:<word>": "a legitimate variant: rollback archives the model it replaced with archive_reason <word> "
    "instead of 'rolled_back'; a run must pass (3.3 warns)",
    "throttle:<burst>/<rate>": "API Gateway's throttling: a token bucket of <burst> requests refilled at <rate> per "
    "second; beyond it 429 Too Many Requests (no Retry-After, as API Gateway sends)",
}


def _name(usage: str) -> str:
    return usage.split(":")[0].split("[")[0]


#: fault name -> how to write it on the command line.
FAULT_USAGE = {_name(usage): usage for usage in _CATALOGUE}
#: fault name -> "usage: description", one line each (for --help and the README).
FAULT_HELP = {
    _name(usage): (desc if usage == _name(usage) else f"{usage}: {desc}") for usage, desc in _CATALOGUE.items()
}
#: faults that take an optional route (no route: every route), and faults that need a value.
ROUTED = frozenset(name for name, usage in FAULT_USAGE.items() if usage.endswith("[:<route>]"))
_VALUED = frozenset(name for name, usage in FAULT_USAGE.items() if ":<" in usage and name not in ROUTED)


@dataclass(frozen=True)
class Fault:
    """One parsed fault; ``value`` is the route (str) or the number (int/float) after the colon."""

    name: str
    value: str | int | float | None = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


def _valid_list() -> str:
    return ", ".join(FAULT_USAGE.values())


def _normalise_route(raw: str, fault: str = "missing-route") -> str:
    route = raw.strip()
    if not route.startswith("/"):
        route = "/" + route
    for prefix in ("/prod", "/api/v1"):
        if route.startswith(prefix + "/"):
            route = route[len(prefix) :]
    route = route.rstrip("/") or "/"
    if route.startswith("/metrics/"):
        route = "/metrics"
    if route not in ROUTES:
        raise ValueError(f"unknown route {raw!r} in {fault}; valid routes: {', '.join(ROUTES)}")
    return route


def _number(name: str, raw: str, *, maximum: float | None = None) -> int | float:
    try:
        number: int | float = int(raw)
    except ValueError:
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{name} needs a number, got {raw!r} (write {FAULT_USAGE[name]})") from None
    if number != number or number < 0 or (maximum is not None and number > maximum):
        bound = f"between 0 and {maximum:g}" if maximum is not None else "0 or more"
        raise ValueError(f"{name} must be {bound}, got {raw!r}")
    return number


def parse_fault(text: str | Fault) -> Fault:
    """Parse ``"latency:100"``-style text. ValueError (listing the valid faults) on bad input."""
    if isinstance(text, Fault):
        return text
    if not isinstance(text, str):
        raise ValueError(f"a fault is a string, got {type(text).__name__}; valid faults: {_valid_list()}")
    name, sep, raw = text.strip().partition(":")
    name = name.strip().lower()
    if name not in FAULT_USAGE:
        raise ValueError(f"unknown fault {text!r}; valid faults: {_valid_list()}")
    if name in ROUTED:
        if not sep:
            return Fault(name)
        if not raw.strip():
            raise ValueError(f"fault {name} needs a route after the colon: write {FAULT_USAGE[name]}")
        return Fault(name, _normalise_route(raw, name))
    if name not in _VALUED:
        if sep:
            raise ValueError(f"fault {name} takes no value, got {text!r}")
        return Fault(name)
    if not sep or not raw.strip():
        raise ValueError(f"fault {name} needs a value: write {FAULT_USAGE[name]}")
    if name == "missing-route":
        return Fault(name, _normalise_route(raw))
    if name in ("error-key", "archive-reason"):
        word = raw.strip()
        if not word.replace("_", "").replace("-", "").isalnum() or len(word) > 40:
            raise ValueError(f"{name} needs a word (letters, digits, _ or -), got {raw!r}")
        return Fault(name, word)
    if name == "throttle":
        burst, slash, rate = raw.strip().partition("/")
        if not slash:
            raise ValueError(f"throttle needs a burst and a rate: write {FAULT_USAGE[name]}, e.g. throttle:5/10")
        burst_n, rate_n = _number(name, burst.strip()), _number(name, rate.strip())
        if burst_n < 1 or rate_n <= 0:
            raise ValueError(f"throttle needs a burst of 1 or more and a rate above 0, got {raw!r}")
        return Fault(name, f"{burst_n:g}/{rate_n:g}")
    if name == "round":
        digits = _number(name, raw.strip(), maximum=6)
        if digits != int(digits):
            raise ValueError(f"round needs a whole number of digits, got {raw!r}")
        return Fault(name, int(digits))
    if name == "listing-lag":
        return Fault(name, raw.strip())
    if name == "s3-clock":
        negative = raw.strip().startswith("-")
        number = _number(name, raw.strip().lstrip("+-"), maximum=10 * 365 * 86400)
        return Fault(name, -number if negative else number)
    return Fault(name, _number(name, raw.strip(), maximum=100 if name == "flaky" else None))


def parse_faults(names: Iterable[str | Fault]) -> list[Fault]:
    """What `--fault NAME` (repeatable) gave, parsed: the one way both faces read it. ValueError naming the
    flag and listing the valid faults on bad input."""
    try:
        return [parse_fault(name) for name in names or ()]
    except ValueError as exc:
        raise ValueError(f"--fault: {exc}") from None


FAULT_FLAG_HELP = (
    "make the sandbox misbehave like a broken deployment (repeatable), e.g. stage-prefix, bad-token, "
    "latency:2000 (an unknown NAME lists them all)"
)


def add_fault_flag(parser, *, condition: str = "") -> None:
    """`--fault NAME` on an argparse parser or group (`zorora-e2e demo | sandbox`, `ml-validate-e2e`, whose
    `condition` is "with --sandbox: "); read with parse_faults."""
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help=condition + FAULT_FLAG_HELP)


def faults_epilog() -> str:
    """Every fault with its syntax and what it does, one a line (`zorora-e2e sandbox --help`)."""
    return "faults:\n" + "\n".join(f"  {name:<22} {text}" for name, text in FAULT_HELP.items())


class FaultSet:
    """An immutable set of active faults with typed accessors."""

    def __init__(self, faults: Iterable[str | Fault] = ()) -> None:
        if isinstance(faults, (str, Fault)):
            faults = [faults]
        parsed = tuple(parse_fault(f) for f in faults or ())
        self.faults: tuple[Fault, ...] = parsed
        self._names = {f.name for f in parsed}
        self.missing_routes = frozenset(str(f.value) for f in parsed if f.name == "missing-route")

    def hits(self, name: str, route: str | None) -> bool:
        """A route-scoped fault (html-200, truncated-json, huge-body, hang) applies to `route`
        (``/challengers``, ``/metrics`` ...; None when the path matches no route)."""
        return any(f.name == name and (f.value is None or f.value == route) for f in self.faults)

    def _last(self, name: str) -> int | float:
        values = [f.value for f in self.faults if f.name == name]
        return values[-1] if values else 0  # type: ignore[return-value]  # a numeric fault's value: a number

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(self.faults)

    def __len__(self) -> int:
        return len(self.faults)

    def __repr__(self) -> str:
        return f"FaultSet({[str(f) for f in self.faults]!r})"

    @property
    def latency_ms(self) -> float:
        return float(self._last("latency"))

    @property
    def cold_start_ms(self) -> float:
        return float(self._last("cold-start"))

    @property
    def flaky_pct(self) -> float:
        return float(self._last("flaky"))

    def value(self, name: str):
        """The last value given to a valued fault (error-key, round, archive-reason ...); None if not set."""
        values = [f.value for f in self.faults if f.name == name]
        return values[-1] if values else None

    @property
    def throttle(self) -> tuple[float, float] | None:
        """(burst, rate per second) of the throttle fault, or None."""
        value = self.value("throttle")
        if value is None:
            return None
        burst, _, rate = str(value).partition("/")
        return float(burst), float(rate)
