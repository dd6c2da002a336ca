"""Plain-words causes and fixes for the failure modes seen in the real deployment (docs/platform.md,
section 3). Each function turns an observation into a diagnosis: `for_error` a failed operation (by the kind its
client gave it), `for_http` an HTTP answer, `for_s3` an S3 error code; None when nothing is known.

The texts are templates (core/diagnosis.py): {fields} a step fills in, and slots such as {base_url} that each
face words its own way when it shows the hint.
"""

from __future__ import annotations

from .diagnosis import DEPLOYMENT, MODEL, PLATFORM, SETTINGS, VALIDATOR, Diagnosis, register

FUNCTION = "ona-globalTrainingService-prod"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"

_d = register

STAGE_PREFIX = _d(
    "ZE-LAMBDA-001",
    PLATFORM,
    "the Lambda does not strip the API Gateway stage prefix: it routes on rawPath "
    "'/<stage>/api/v1/...' and fails with 'Could not extract customer_id from event' — "
    "strip the stage (requestContext.stage) before routing",
)
TOKEN_MISMATCH = _d(
    "ZE-AUTH-001",
    SETTINGS,
    "the Lambda rejected the bearer token: ONA_API_TOKEN does not match its INTERNAL_API_TOKEN — "
    "re-read SSM /ona-platform/prod/global-training-api-token ({token_from_ssm}); if the token is "
    "the one in SSM, the Lambda's USE_BEARER_AUTH=true and INTERNAL_API_TOKEN environment must "
    "match it",
)
TOKEN_SCHEME = _d(
    "ZE-AUTH-004",
    SETTINGS,
    "the token went out with its scheme twice ('Bearer Bearer …'): it is set with 'Bearer ' in front, "
    "and the client adds 'Bearer ' itself — set the token alone, without 'Bearer ', in {token_setting}",
)
FORBIDDEN = _d(
    "ZE-AUTH-002",
    DEPLOYMENT,
    "HTTP 403 is an IAM-level denial: check the API Gateway authorizer / resource policy and the "
    "Lambda's IAM permissions",
)
NO_TOKEN_CHECK = _d(
    "ZE-AUTH-003",
    PLATFORM,
    "the Lambda serves requests without a bearer token: set USE_BEARER_AUTH=true and make "
    "check_authentication run before any business logic",
)
CUSTOMER_TAKEN = _d(
    "ZE-RUN-006",
    SETTINGS,
    "another run is using customer id {customer}: two runs cannot share a test customer (each would "
    "see the other's writes, promotions and audit events), so this one wrote nothing. Leave the id to "
    "the run (no --customer-id / TEST_CUSTOMER_ID), or give each job its own; if no run is using it, "
    "one that was killed (or kept its data) left its claim: `{sweep}` removes it",
)
NO_CONDITIONAL_WRITES = _d(
    "ZE-RUN-007",
    SETTINGS,
    "the S3 endpoint does not take conditional writes (If-None-Match: {code}): the claim on the "
    "customer id was written without the condition, so two runs on one customer id are not "
    "kept apart here (AWS S3 takes them). Leave the id to the run: each run makes its own",
)
WRONG_URL = _d(
    "ZE-URL-001",
    SETTINGS,
    "no route answers at this base URL: API Gateway answered its own 404 for {requested} and for every "
    "other route, so the stage or the API id in {base_url} is wrong — use the "
    "invoke URL of the stage the API is deployed on, with the API's base path",
)
NO_RESOURCE = _d(
    "ZE-URL-004",
    SETTINGS,
    "API Gateway answered 403 'Missing Authentication Token': that is its answer for a path or stage "
    "it has no resource for (a REST API), not a token check — check the stage and the path in "
    "{base_url}, then that the route is deployed",
)
REDIRECT = _d(
    "ZE-URL-002",
    SETTINGS,
    "the base URL redirects to {target}: a client following it sends the request to another place (and "
    "drops the bearer token if the host differs), so nothing about the API or the token is proven. "
    "Point {base_url} at the API Gateway invoke URL itself",
)
NOT_JSON = _d(
    "ZE-URL-003",
    SETTINGS,
    "the API answered 2xx with a page, not JSON: {base_url} may point at a "
    "web page, a proxy or a login portal instead of the API's invoke URL",
)
BROKEN_JSON = _d(
    "ZE-LAMBDA-015",
    PLATFORM,
    "the API answered 2xx with a body that does not parse as JSON (cut short, or not JSON): the Lambda "
    "must answer each request with one whole JSON object",
)
ROUTE_MISSING = _d(
    "ZE-ROUTE-001",
    DEPLOYMENT,
    "API Gateway has no route for {route}: deploy {it} on the stage the base URL names "
    "(GET /challengers, GET /metrics/{{model_id+}}, GET /diff, POST /promote, POST /rollback, "
    "GET /audit-log) with the Lambda proxy integration",
)
NON_GREEDY = _d(
    "ZE-ROUTE-002",
    DEPLOYMENT,
    "model ids contain '/'; the metrics route is not greedy — use {{model_id+}} or URL-encode the id "
    "(the metrics object exists in S3)",
)
METRICS_KEY = _d(
    "ZE-LAMBDA-002",
    PLATFORM,
    "the metrics object exists at {key} but the Lambda did not find it: its key format differs from "
    "model_metrics/{{customer_id}}/{{model_id}}/backtest_results.json or it ignores metrics_ref",
)
METRICS_KEY_AGAIN = _d(
    "ZE-LAMBDA-003",
    PLATFORM,
    "the Lambda cannot find the test models' metrics ({where}): the same cause as step {step} "
    "— fix that and this follows",
)
LATEST_ALIAS = _d(
    "ZE-LAMBDA-004",
    PLATFORM,
    "Zorora's ml-promote asks GET /diff with production_id='<customer>/production/latest' (a "
    "placeholder alias); the Lambda must resolve it to the customer's current production model",
)
THIRD_ACTOR = _d(
    "ZE-LAMBDA-005",
    PLATFORM,
    "the Lambda recorded the actor {recorded!r}, which is neither the body's 'actor' nor the X-Actor "
    "header (both {actor!r}, the caller): get_actor_from_event() in " + FUNCTION + " must take the "
    "caller's actor (body 'actor' or X-Actor), not the IAM identity or a fixed service name",
)
NO_AUDIT = _d(
    "ZE-LAMBDA-006",
    PLATFORM,
    "the Lambda did not append an audit event to audit_logs/{customer}/events.json: "
    "every promote/rollback must write one",
)
NO_ARCHIVE = _d(
    "ZE-LAMBDA-007",
    PLATFORM,
    "the Lambda did not archive the previous production to customer_tailored/{customer}/archived/: "
    "without it a rollback has nothing to restore",
)
NOT_OBJECT = _d(
    "ZE-LAMBDA-008",
    PLATFORM,
    "the API answered JSON that is not one object (e.g. an array around it): the Lambda must answer "
    "each request with a single JSON object, as Zorora's ml-* commands expect",
)
ACTS_WITHOUT_VALIDATING = _d(
    "ZE-LAMBDA-009",
    PLATFORM,
    "the server acts without validating: it accepted a promote/rollback with a 3-character "
    "reason for a customer that has no registry; validate the reason (>= 10 characters) "
    "and the registry before doing anything",
)
GATES_SKIPPED = _d(
    "ZE-LAMBDA-010",
    PLATFORM,
    "the server promoted a challenger that fails its gates (evaluated more than 7 days ago, verdict "
    "not_eligible) without force: enforce the promotion gates in " + FUNCTION + " unless force",
)
REASON_UNCHECKED = _d(
    "ZE-LAMBDA-011",
    PLATFORM,
    "the server trusts the client to check the reason: validate len(reason) >= 10 in the Lambda",
)
ACCEPTED_INVALID = _d(
    "ZE-LAMBDA-014",
    PLATFORM,
    "the API accepted an invalid promotion: the Lambda must refuse an unknown challenger and a "
    "reason shorter than 10 characters, whatever the client checks",
)
SIDE_EFFECT = _d(
    "ZE-LAMBDA-012",
    PLATFORM,
    "a rejected request modified the registry or wrote an audit event: the Lambda must validate "
    "before it writes anything",
)
SERVER_ERROR = _d(
    "ZE-LAMBDA-013",
    DEPLOYMENT,
    "the Lambda failed with HTTP {status} (a read: after the run's retries): look at its CloudWatch logs ("
    + LOG_GROUP
    + "); 503s that come and go are throttling or a flaky deployment",
)
WRONG_BUCKET = _d(
    "ZE-S3-001",
    SETTINGS,
    "the API does not see the test data written to s3://{bucket}/: the Lambda's OUTPUT_BUCKET "
    "(or region) differs from --bucket/OUTPUT_BUCKET",
)
COLD_START = _d(
    "ZE-NET-001",
    DEPLOYMENT,
    "connected, but no answer within --timeout: the container-image Lambda may be cold-starting (the "
    "first request can take seconds) or hanging — retry, or raise --timeout",
)
CONNECT = _d(
    "ZE-NET-002",
    SETTINGS,
    "cannot connect: nothing accepted a TCP connection (refused, or none made within --timeout) — check "
    "{base_url} (host, scheme, port), your VPN (a private API answers only inside its VPC) and proxy, "
    "and that API Gateway is deployed",
)
DNS = _d(
    "ZE-NET-003",
    SETTINGS,
    "the host name in {base_url} does not resolve: check it for typos (it looks like "
    "https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/api/v1) and your DNS/VPN",
)
TLS = _d(
    "ZE-NET-004",
    SETTINGS,
    "the TLS handshake failed (certificate not trusted or wrong host): check the scheme and host of "
    "{base_url}; behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE to its CA bundle",
)
S3_NO_BUCKET = _d(
    "ZE-S3-002",
    SETTINGS,
    "the bucket does not exist (or is in another region): set --bucket/OUTPUT_BUCKET to the Lambda's "
    "OUTPUT_BUCKET and {region} to its region",
)
S3_BAD_KEYS = _d(
    "ZE-S3-003",
    SETTINGS,
    "S3 does not accept these AWS credentials (unknown key or wrong secret): check "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE",
)
S3_DENIED = _d(
    "ZE-S3-004",
    DEPLOYMENT,
    "S3 refused the credentials: the IAM identity needs s3:GetObject, s3:PutObject, s3:ListBucket and "
    "s3:DeleteObject on the bucket (IAM policy or bucket policy); check "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE",
)
S3_NO_CREDENTIALS = _d(
    "ZE-S3-005", SETTINGS, "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
)
S3_UNREACHABLE = _d("ZE-S3-006", SETTINGS, "S3 did not answer: check the network, {s3_endpoint} and {region_flag}")
S3_OTHER = _d("ZE-S3-007", SETTINGS, "check the bucket, the region and the AWS credentials")
S3_CLIENT = _d("ZE-S3-008", SETTINGS, "check {region}, {s3_endpoint_flag} and the AWS credentials")
DEADLINE = _d(
    "ZE-RUN-001",
    DEPLOYMENT,
    "the run's overall deadline ({deadline} s) or cleanup budget ran out while {what}{also}: the API or "
    "S3 is hanging there; check the target, or raise --deadline/--timeout",
)
INTERNAL = _d(
    "ZE-RUN-002",
    VALIDATOR,
    "unexpected error inside the validator: report it with its traceback (the step's `traceback` in "
    "--json, or printed with --debug)",
)
COLLISION = _d(
    "ZE-RUN-003",
    SETTINGS,
    "another run is using this customer id (e.g. CI jobs sharing a fixed TEST_CUSTOMER_ID): each run then "
    "sees the other's writes, promotions and audit events, and its checks fail for that reason, not the "
    "deployment's. Leave the id to the run (no --customer-id / TEST_CUSTOMER_ID): each run then makes its "
    "own",
)
UNNAMED = _d(
    "ZE-RUN-004",
    VALIDATOR,
    "the step failed without naming a cause: zorora-e2e has no diagnosis for what it saw (its expected and "
    "got say what) — report it",
)
CONFIRM_RESET = _d(
    "ZE-RUN-005",
    VALIDATOR,
    "Zorora's ml-promote/ml-rollback asked for confirmation although the run sets "
    "ZORORA_AUTO_CONFIRM=true around them: something in this session reset it, or this Zorora reads "
    "another setting — report it",
)


# The engineer's AWS credentials, as S3 (or botocore, before sending) refuses them
S3_EXPIRED = _d(
    "ZE-S3-009",
    SETTINGS,
    "the AWS credentials have expired ({code}: temporary credentials past their time): refresh them "
    "(`aws sso login`, a new assume-role or aws-vault session, your credential tool) and re-run",
)
S3_SSO = _d(
    "ZE-S3-010",
    SETTINGS,
    "the AWS SSO login of profile {profile} is missing or has expired ({code}): run `aws sso login "
    "--profile {profile}`, then re-run",
)
S3_CLOCK = _d(
    "ZE-S3-011",
    SETTINGS,
    "S3 refused the request's time (RequestTimeTooSkewed): this machine's clock is more than 15 minutes "
    "off — set it right (NTP) and re-run",
)
S3_CREDENTIAL_SOURCE = _d(
    "ZE-S3-012",
    SETTINGS,
    "the AWS credentials could not be loaded ({code}): fix the profile's credential source "
    "(AWS_PROFILE, the config file, its credential_process) and re-run",
)
PREFIX_IGNORED = _d(
    "ZE-S3-013",
    SETTINGS,
    "the S3 endpoint (or a gateway in front of it) does not honour ListObjectsV2's prefix: a run there "
    "cannot tell its data from anyone else's. Fix it, or point {s3_endpoint_flag} at one that does",
)
DELETE_REFUSED = _d(
    "ZE-S3-014",
    DEPLOYMENT,
    "S3 refused to delete objects under the run's prefixes ({code}): the IAM identity needs "
    "s3:DeleteObject there (IAM policy or bucket policy)",
)
VERSIONS_KEPT = _d(
    "ZE-S3-015",
    DEPLOYMENT,
    "these credentials may not delete object versions (s3:DeleteObjectVersion): the bucket's lifecycle "
    "rule (noncurrent version expiration) removes them, or run `{sweep}` with credentials that may",
)
LATE_WRITE = _d(
    "ZE-S3-016",
    DEPLOYMENT,
    "objects appeared under the run's prefixes after the cleanup deleted them: a request still running "
    "wrote them late (a Lambda running past API Gateway's ~29 s integration timeout, or a step the "
    "deadline cut off)",
)

# What the Lambda answered, beyond the failure modes seen in real deployments
LAMBDA_REFUSED = _d(
    "ZE-LAMBDA-018",
    PLATFORM,
    "the Lambda refused {route} (HTTP {status}), a request the plan expects it to answer: its error "
    "says why (and its CloudWatch logs, " + LOG_GROUP + ")",
)
MISSING_FIELD = _d(
    "ZE-LAMBDA-019",
    PLATFORM,
    "the Lambda's answer to {route} has no {field!r}, which the plan asserts ({shape}): "
    + FUNCTION
    + " must include it",
)
ANSWER_DIFFERS = _d(
    "ZE-LAMBDA-020",
    PLATFORM,
    "the Lambda's answer to {route} differs from the test world phase 1 wrote to S3: it must answer "
    "what S3 holds for the test customer ({what})",
)
VAGUE_REFUSAL = _d(
    "ZE-LAMBDA-021",
    PLATFORM,
    "{route} was refused, but the error does not name {what}: the plan expects the refusal to say why, "
    "so the check it stands for is unproven",
)
NOT_PERSISTED = _d(
    "ZE-LAMBDA-022",
    PLATFORM,
    "the API answered 2xx to the {what} but the registry in S3 {change}: the {what} was not persisted",
)
CHALLENGER_KEPT = _d(
    "ZE-LAMBDA-023",
    PLATFORM,
    "the promoted challenger is still in the registry's challengers list: a promotion must move it "
    "to production and out of the challengers",
)
ARCHIVE_WRONG = _d("ZE-LAMBDA-024", PLATFORM, "the archive object {key} does not hold the previous production entry")
NO_ROLLBACK_ARCHIVE = _d(
    "ZE-LAMBDA-025",
    PLATFORM,
    "the rollback restored the previous production but did not archive the one it replaced "
    "(customer_tailored/{customer}/archived/): the promoted model vanished from history",
)
ARCHIVE_KEY = _d(
    "ZE-LAMBDA-026",
    PLATFORM,
    "the archive key differs from the plan's {{model_id}}_{{YYYYMMDD_HHMMSS}}.json: tools that find "
    "archives by key will miss it",
)
CONTENT_ASSUMED = _d(
    "ZE-LAMBDA-027",
    PLATFORM,
    "the archive document's content is the sandbox's assumption (docs/platform.md, \"assumed\": the "
    "entry's fields plus archived_at and archive_reason); the plan fixes only its key — nothing to "
    "fix unless your tools read these fields",
)
DIFF_TEXT = _d(
    "ZE-LAMBDA-028", PLATFORM, "the diff's percentage is a string, not a JSON number: compare it as a number"
)
DIFF_ROUNDING = _d(
    "ZE-LAMBDA-029",
    PLATFORM,
    "the diff's percentage differs from (production - challenger) / production * 100 by less than a "
    "point: another rounding or formula than the sandbox assumes (docs/platform.md: the rounding of "
    "/diff's percentages is assumed)",
)
DIFF_FORMULA = _d(
    "ZE-LAMBDA-030",
    PLATFORM,
    "the diff must be (production - challenger) / production * 100 on the backtest metrics "
    "(MAE {production_mae} -> {challenger_mae}, RMSE {production_rmse} -> {challenger_rmse})",
)
BUSY = _d(
    "ZE-LAMBDA-031",
    PLATFORM,
    "refused as a concurrent promotion, not for its gates: no other promotion of this customer ran (4.6 has "
    "its own wave), so the Lambda's promotion lock was held by an earlier request — the gate check is "
    "unproven",
)
GATE_CHALLENGER_UNSEEN = _d(
    "ZE-LAMBDA-032",
    PLATFORM,
    "refused as unknown: the Lambda did not see the challenger added to the registry in S3 "
    "(a stale cache of the registry?) — the gate check is unproven",
)
S3_DOCUMENT_BROKEN = _d(
    "ZE-LAMBDA-033",
    PLATFORM,
    "an object the Lambda keeps in S3 (the registry or the audit log) is not valid JSON, or is "
    "nested deeper than a parser allows: " + FUNCTION + " must write whole JSON documents",
)

# Readiness (--for): the customer and challenger named are the engineer's; the challenger's own state is nobody's
FOR_UNKNOWN_CUSTOMER = _d(
    "ZE-FOR-001",
    SETTINGS,
    "customer {c} has no registry at {where}: check the customer id (a typo?), and that "
    "--bucket/OUTPUT_BUCKET is the Lambda's",
)
FOR_UNKNOWN_CHALLENGER = _d(
    "ZE-FOR-002",
    SETTINGS,
    "ml-promote would answer 'Challenger {wanted} not found': check the id with ml-list-challengers {c}",
)
FOR_GATES = _d(
    "ZE-FOR-005",
    MODEL,
    "the challenger does not meet the promotion gates: the server refuses it ('Challenger does not meet "
    "promotion gates', or Zorora stops at the diff) — re-evaluate or retrain it, or promote another one; "
    "nothing is broken (--force needs elevated permissions)",
)
FOR_NO_METRICS = _d(
    "ZE-FOR-006",
    MODEL,
    "ml-show-metrics finds no metrics for {model}: its evaluation wrote none where the Lambda looks "
    "(model_metrics/{c}/{model}/backtest_results.json, or the entry's metrics_ref) — re-evaluate it; "
    "nothing is broken",
)


def is_gateway_404(status: int | None, body: str, headers=None) -> bool:
    """API Gateway's own 404 (no route matched): its fixed body `{"message":"Not Found"}` (or its
    x-amzn-ErrorType header); a Lambda's 404 may use any key, `message` included (client/answers.py)."""
    from .answers import is_gateway_404 as gateway_404

    return gateway_404(status, body, headers)


def answer_source(status: int, body: str, headers=None) -> str:
    """Who answered (client/answers.py): "accepted", "gateway" (API Gateway's 404), "auth", "throttled"
    (429), "server" (5xx), "lambda" (a 4xx JSON object that is not one of API Gateway's own) or "other"."""
    from .answers import answer_source as source

    return source(status, body, headers)


def _gateway_answer(status: int, body: str, headers=None) -> bool:
    from .answers import from_gateway

    return from_gateway(status, body, headers)


THROTTLED = _d(
    "ZE-NET-005",
    DEPLOYMENT,
    "HTTP 429: API Gateway throttled the requests (the API stage's or the usage plan's rate/burst "
    "limits), not a Lambda failure: raise the stage's or usage plan's throttling limits, or run when "
    "the API is less busy; the run already sends at most a few requests at once and retries reads",
)
GATEWAY_5XX = {
    500: _d(
        "ZE-LAMBDA-016",
        DEPLOYMENT,
        "API Gateway answered 500 Internal Server Error itself: the Lambda crashed (an uncaught exception) or "
        "its integration is misconfigured — look at its CloudWatch logs (" + LOG_GROUP + ")",
    ),
    503: _d(
        "ZE-NET-006",
        DEPLOYMENT,
        "API Gateway answered 503 Service Unavailable itself on every attempt (the run retries reads twice, "
        "with backoff): the integration was unavailable, so the Lambda never ran — a deployment this flaky "
        "fails runs; re-run, and check the API's health",
    ),
    504: _d(
        "ZE-LAMBDA-017",
        DEPLOYMENT,
        "API Gateway answered 504 Endpoint request timed out: the Lambda ran longer than the integration's "
        "~29-30 s limit (it may still be running) — look at its duration in CloudWatch (" + LOG_GROUP + ")",
    ),
}
FOREIGN_ANSWER = _d(
    "ZE-URL-005",
    SETTINGS,
    "{route} answered HTTP {status} with a body that is neither API Gateway's own nor a JSON error of "
    "the Lambda's: something else answers at {base_url} (a proxy, a load balancer, a web server) — "
    "check that it is the API's invoke URL",
)
RETRIED = _d(
    "ZE-NET-007",
    DEPLOYMENT,
    "a request answered a transient error (a dropped connection, 502/503/504 or 429) and its retry succeeded: "
    "the deployment works, but it is flaky or throttled",
)
NO_ANSWER_APPLIED = _d(
    "ZE-NET-008",
    DEPLOYMENT,
    "the {what} got no answer (a dropped connection, or none within --timeout), but the registry "
    "in S3 shows it applied: the chain works, but an engineer's command would have reported an "
    "error for it — check the network path and the Lambda's duration",
)
PROBE_5XX = _d(
    "ZE-ROUTE-003",
    PLATFORM,
    "{routes} answered a 5xx to a request with a deliberately unknown id or missing parameter: the route "
    "is deployed and the Lambda runs, but it fails instead of refusing cleanly (e.g. an uncaught "
    "NoSuchKey) — worth a look in its CloudWatch logs (" + LOG_GROUP + "); not a gate failure",
)


def route_missing(*routes: str) -> Diagnosis:
    """ROUTE_MISSING for one route or several ("deploy them")."""
    return ROUTE_MISSING.fill(route=", ".join(routes), it="them" if len(routes) > 1 else "it")


def for_error(error, route: str = "") -> Diagnosis | None:
    """The diagnosis of a failed ONA operation (client.OnaError), by its kind, then its status and body."""
    kind = getattr(error, "kind", "")
    if kind == "timeout":
        return COLD_START
    if kind == "dns":
        return DNS
    if kind == "tls":
        return TLS
    if kind in ("connect", "transport"):
        return CONNECT
    if kind == "not_json":
        return for_not_json(
            getattr(error, "body", "") or getattr(error, "message", ""), getattr(error, "headers", None)
        )
    if kind == "not_object":
        return NOT_OBJECT
    if kind == "http":
        if "could not extract customer_id" in f"{error.message} {error.body}".lower():
            return STAGE_PREFIX
        return for_http(error.status, error.body or error.message, route, getattr(error, "headers", None))
    if kind == "cancelled":  # Zorora asked for confirmation instead of calling the API
        return CONFIRM_RESET
    if kind == "refused":  # the client's own checks stopped on an answer (a challenger not listed, a verdict ...)
        return ANSWER_DIFFERS.fill(
            route=route or "a read the command makes first",
            what=f"the client stopped on it: {getattr(error, 'message', '')}"[:300],
        )
    return None


def for_http(status: int | None, body: str = "", route: str = "", headers=None) -> Diagnosis | None:
    """The diagnosis of an HTTP answer that is an error, or None when nothing specific is known."""
    if status is None:
        return None
    text = (body or "").lower()
    if "could not extract customer_id" in text:
        return STAGE_PREFIX
    if status == 401:
        return TOKEN_MISMATCH
    if status == 403:
        return NO_RESOURCE if "missing authentication token" in text else FORBIDDEN
    if is_gateway_404(status, body, headers):
        return route_missing(route or "this path")
    if status == 429:
        return THROTTLED
    if status in GATEWAY_5XX and (status == 504 or _gateway_answer(status, body, headers)):
        return GATEWAY_5XX[status]
    if status >= 500:
        return SERVER_ERROR.fill(status=status)
    if 200 <= status < 300:
        return for_not_json(body)
    if 300 <= status < 400:  # a redirect the request did not follow
        location = next((v for k, v in (headers or {}).items() if str(k).lower() == "location"), "")
        return REDIRECT.fill(target=location or "(no Location header)")
    if 400 <= status < 500:  # a 4xx to a request the plan expects answered: the Lambda's, or something else's
        source = answer_source(status, body, headers)
        return (LAMBDA_REFUSED if source == "lambda" else FOREIGN_ANSWER).fill(
            route=route or "the request", status=status
        )
    return None


def for_not_json(body: str, headers=None) -> Diagnosis:
    """A 2xx that is not JSON: a page (HTML, by its body or its Content-Type: the URL points at something else) or
    the Lambda's broken body."""
    text = (body or "").lstrip().lower()
    kind = next((str(v) for k, v in (headers or {}).items() if str(k).lower() == "content-type"), "").lower()
    page = text.startswith("<") or "<html" in text[:2000] or "<!doctype" in text[:2000] or "html" in kind
    return NOT_JSON if page else BROKEN_JSON


# The engineer's AWS credentials refused, by S3's code or botocore's own error (never sent): settings, every one
S3_EXPIRED_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "InvalidToken", "RequestExpired"}
)
S3_SSO_CODES = frozenset(
    {
        "SSOTokenLoadError",
        "UnauthorizedSSOTokenError",
        "TokenRetrievalError",
        "SSOError",
        "PendingAuthorizationExpiredError",
    }
)
S3_SOURCE_CODES = frozenset(
    {
        "CredentialRetrievalError",
        "PartialCredentialsError",
        "InvalidConfigError",
        "ProfileNotFound",
        "RefreshWithMFAUnsupportedError",
        "MetadataRetrievalError",
    }
)
S3_CREDENTIAL_CODES = (
    frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "NoCredentials", "RequestTimeTooSkewed"})
    | S3_EXPIRED_CODES
    | S3_SSO_CODES
    | S3_SOURCE_CODES
)


def for_s3(code: str, profile: str = "") -> Diagnosis:
    """The diagnosis of an S3 error code (StoreError.code); `profile`: the AWS profile in use (for SSO)."""
    if code in ("NoSuchBucket", "404"):
        return S3_NO_BUCKET
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return S3_BAD_KEYS
    if code in S3_EXPIRED_CODES:
        return S3_EXPIRED.fill(code=code)
    if code in S3_SSO_CODES:
        return S3_SSO.fill(code=code, profile=profile or "default")
    if code in S3_SOURCE_CODES:
        return S3_CREDENTIAL_SOURCE.fill(code=code)
    if code == "RequestTimeTooSkewed":
        return S3_CLOCK
    if code == "InvalidJSON":
        return S3_DOCUMENT_BROKEN
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return S3_DENIED
    if code == "NoCredentials":
        return S3_NO_CREDENTIALS
    if code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return S3_UNREACHABLE
    return S3_OTHER
