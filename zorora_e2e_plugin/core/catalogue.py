"""Plain-words causes and fixes for the failure modes seen in the real deployment (docs/platform.md,
section 3). Each function turns an observation into a diagnosis: `for_error` a failed operation (by the kind its
client gave it), `for_http` an HTTP answer, `for_s3` an S3 error code; None when nothing is known.

The texts are templates (core/diagnosis.py): {fields} a step fills in, and slots such as {base_url} that each
face words its own way when it shows the hint.
"""

from __future__ import annotations

from typing import Optional

from .diagnosis import DEPLOYMENT, PLATFORM, SETTINGS, VALIDATOR, Diagnosis, register

FUNCTION = "ona-globalTrainingService-prod"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"

_d = register

STAGE_PREFIX = _d("ZE-LAMBDA-001", PLATFORM,
                  "the Lambda does not strip the API Gateway stage prefix: it routes on rawPath "
                  "'/<stage>/api/v1/...' and fails with 'Could not extract customer_id from event' — "
                  "strip the stage (requestContext.stage) before routing")
TOKEN_MISMATCH = _d("ZE-AUTH-001", SETTINGS,
                    "the Lambda rejected the bearer token: ONA_API_TOKEN does not match its INTERNAL_API_TOKEN — "
                    "re-read SSM /ona-platform/prod/global-training-api-token ({token_from_ssm}); if the token is "
                    "the one in SSM, the Lambda's USE_BEARER_AUTH=true and INTERNAL_API_TOKEN environment must "
                    "match it")
TOKEN_SCHEME = _d("ZE-AUTH-004", SETTINGS,
                  "the token went out with its scheme twice ('Bearer Bearer …'): it is set with 'Bearer ' in front, "
                  "and the client adds 'Bearer ' itself — set the token alone, without 'Bearer ', in {token_setting}")
FORBIDDEN = _d("ZE-AUTH-002", DEPLOYMENT,
               "HTTP 403 is an IAM-level denial: check the API Gateway authorizer / resource policy and the "
               "Lambda's IAM permissions")
NO_TOKEN_CHECK = _d("ZE-AUTH-003", PLATFORM,
                    "the Lambda serves requests without a bearer token: set USE_BEARER_AUTH=true and make "
                    "check_authentication run before any business logic")
CUSTOMER_TAKEN = _d("ZE-RUN-003", SETTINGS,
                    "another run is using customer id {customer}: two runs cannot share a test customer (each would "
                    "see the other's writes, promotions and audit events), so this one wrote nothing. Leave the id to "
                    "the run (no --customer-id / TEST_CUSTOMER_ID), or give each job its own; if no run is using it, "
                    "one that was killed (or kept its data) left its claim: `{sweep}` removes it")
NO_CONDITIONAL_WRITES = _d("ZE-RUN-004", SETTINGS,
                           "the S3 endpoint does not take conditional writes (If-None-Match: {code}): the claim on the "
                           "customer id was written without the condition, so two runs on one customer id are not "
                           "kept apart here (AWS S3 takes them). Leave the id to the run: each run makes its own")
WRONG_URL = _d("ZE-URL-001", SETTINGS,
               "no route answers at this base URL: API Gateway answered its own 404 for {requested} and for every "
               "other route, so the stage or the API id in {base_url} is wrong — use the "
               "invoke URL of the stage the API is deployed on, with the API's base path")
NO_RESOURCE = _d("ZE-URL-004", SETTINGS,
                 "API Gateway answered 403 'Missing Authentication Token': that is its answer for a path or stage "
                 "it has no resource for (a REST API), not a token check — check the stage and the path in "
                 "{base_url}, then that the route is deployed")
REDIRECT = _d("ZE-URL-002", SETTINGS,
              "the base URL redirects to {target}: a client following it sends the request to another place (and "
              "drops the bearer token if the host differs), so nothing about the API or the token is proven. "
              "Point {base_url} at the API Gateway invoke URL itself")
NOT_JSON = _d("ZE-URL-003", SETTINGS,
              "the API answered 2xx with a page, not JSON: {base_url} may point at a "
              "web page, a proxy or a login portal instead of the API's invoke URL")
BROKEN_JSON = _d("ZE-LAMBDA-015", PLATFORM,
                 "the API answered 2xx with a body that does not parse as JSON (cut short, or not JSON): the Lambda "
                 "must answer each request with one whole JSON object")
ROUTE_MISSING = _d("ZE-ROUTE-001", DEPLOYMENT,
                   "API Gateway has no route for {route}: deploy {it} on the stage the base URL names "
                   "(GET /challengers, GET /metrics/{{model_id+}}, GET /diff, POST /promote, POST /rollback, "
                   "GET /audit-log) with the Lambda proxy integration")
NON_GREEDY = _d("ZE-ROUTE-002", DEPLOYMENT,
                "model ids contain '/'; the metrics route is not greedy — use {{model_id+}} or URL-encode the id "
                "(the metrics object exists in S3)")
METRICS_KEY = _d("ZE-LAMBDA-002", PLATFORM,
                 "the metrics object exists at {key} but the Lambda did not find it: its key format differs from "
                 "model_metrics/{{customer_id}}/{{model_id}}/backtest_results.json or it ignores metrics_ref")
METRICS_KEY_AGAIN = _d("ZE-LAMBDA-003", PLATFORM,
                       "the Lambda cannot find the test models' metrics ({where}): the same cause as step {step} "
                       "— fix that and this follows")
LATEST_ALIAS = _d("ZE-LAMBDA-004", PLATFORM,
                  "Zorora's ml-promote asks GET /diff with production_id='<customer>/production/latest' (a "
                  "placeholder alias); the Lambda must resolve it to the customer's current production model")
THIRD_ACTOR = _d("ZE-LAMBDA-005", PLATFORM,
                 "the Lambda recorded the actor {recorded!r}, which is neither the body's 'actor' nor the X-Actor "
                 "header (both {actor!r}, the caller): get_actor_from_event() in " + FUNCTION + " must take the "
                 "caller's actor (body 'actor' or X-Actor), not the IAM identity or a fixed service name")
NO_AUDIT = _d("ZE-LAMBDA-006", PLATFORM,
              "the Lambda did not append an audit event to audit_logs/{customer}/events.json: "
              "every promote/rollback must write one")
NO_ARCHIVE = _d("ZE-LAMBDA-007", PLATFORM,
                "the Lambda did not archive the previous production to customer_tailored/{customer}/archived/: "
                "without it a rollback has nothing to restore")
NOT_OBJECT = _d("ZE-LAMBDA-008", PLATFORM,
                "the API answered JSON that is not one object (e.g. an array around it): the Lambda must answer "
                "each request with a single JSON object, as Zorora's ml-* commands expect")
ACTS_WITHOUT_VALIDATING = _d("ZE-LAMBDA-009", PLATFORM,
                             "the server acts without validating: it accepted a promote/rollback with a 3-character "
                             "reason for a customer that has no registry; validate the reason (>= 10 characters) "
                             "and the registry before doing anything")
GATES_SKIPPED = _d("ZE-LAMBDA-010", PLATFORM,
                   "the server promoted a challenger that fails its gates (evaluated more than 7 days ago, verdict "
                   "not_eligible) without force: enforce the promotion gates in " + FUNCTION + " unless force")
REASON_UNCHECKED = _d("ZE-LAMBDA-011", PLATFORM,
                      "the server trusts the client to check the reason: validate len(reason) >= 10 in the Lambda")
ACCEPTED_INVALID = _d("ZE-LAMBDA-014", PLATFORM,
                      "the API accepted an invalid promotion: the Lambda must refuse an unknown challenger and a "
                      "reason shorter than 10 characters, whatever the client checks")
SIDE_EFFECT = _d("ZE-LAMBDA-012", PLATFORM,
                 "a rejected request modified the registry or wrote an audit event: the Lambda must validate "
                 "before it writes anything")
SERVER_ERROR = _d("ZE-LAMBDA-013", DEPLOYMENT,
                  "the Lambda failed with HTTP {status} (a read: after the run's retries): look at its CloudWatch logs ("
                  + LOG_GROUP + "); 503s that come and go are throttling or a flaky deployment")
WRONG_BUCKET = _d("ZE-S3-001", SETTINGS,
                  "the API does not see the test data written to s3://{bucket}/: the Lambda's OUTPUT_BUCKET "
                  "(or region) differs from --bucket/OUTPUT_BUCKET")
COLD_START = _d("ZE-NET-001", DEPLOYMENT,
                "no answer within --timeout: the container-image Lambda may be cold-starting (the first request "
                "can take seconds) or hanging — retry, or raise --timeout")
CONNECT = _d("ZE-NET-002", SETTINGS,
             "cannot connect: check {base_url} (host, scheme, port), that API Gateway is "
             "deployed, and network/VPN/proxy access")
DNS = _d("ZE-NET-003", SETTINGS,
         "the host name in {base_url} does not resolve: check it for typos (it looks like "
         "https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/api/v1) and your DNS/VPN")
TLS = _d("ZE-NET-004", SETTINGS,
         "the TLS handshake failed (certificate not trusted or wrong host): check the scheme and host of "
         "{base_url}; behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE to its CA bundle")
S3_NO_BUCKET = _d("ZE-S3-002", SETTINGS,
                  "the bucket does not exist (or is in another region): set --bucket/OUTPUT_BUCKET to the Lambda's "
                  "OUTPUT_BUCKET and {region} to its region")
S3_BAD_KEYS = _d("ZE-S3-003", SETTINGS,
                 "S3 does not accept these AWS credentials (unknown key or wrong secret): check "
                 "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE")
S3_DENIED = _d("ZE-S3-004", DEPLOYMENT,
               "S3 refused the credentials: the IAM identity needs s3:GetObject, s3:PutObject, s3:ListBucket and "
               "s3:DeleteObject on the bucket (IAM policy or bucket policy); check "
               "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE")
S3_NO_CREDENTIALS = _d("ZE-S3-005", SETTINGS,
                       "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE")
S3_UNREACHABLE = _d("ZE-S3-006", SETTINGS,
                    "S3 did not answer: check the network, {s3_endpoint} and {region_flag}")
S3_OTHER = _d("ZE-S3-007", SETTINGS, "check the bucket, the region and the AWS credentials")
S3_CLIENT = _d("ZE-S3-008", SETTINGS, "check {region}, {s3_endpoint_flag} and the AWS credentials")
DEADLINE = _d("ZE-RUN-001", DEPLOYMENT,
              "the run's overall deadline ({deadline} s) or cleanup budget ran out: the API or S3 is hanging; check "
              "the target, or raise --deadline/--timeout")
INTERNAL = _d("ZE-RUN-002", VALIDATOR,
              "unexpected error inside the validator: report it with its traceback (the step's `traceback` in "
              "--json, or printed with --debug)")


def is_gateway_404(status: Optional[int], body: str, headers=None) -> bool:
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


THROTTLED = _d("ZE-NET-005", DEPLOYMENT,
               "HTTP 429: API Gateway throttled the requests (the API stage's or the usage plan's rate/burst "
               "limits), not a Lambda failure: raise the stage's or usage plan's throttling limits, or run when "
               "the API is less busy; the run already sends at most a few requests at once and retries reads")
GATEWAY_5XX = {
    500: _d("ZE-LAMBDA-016", DEPLOYMENT,
            "API Gateway answered 500 Internal Server Error itself: the Lambda crashed (an uncaught exception) or "
            "its integration is misconfigured — look at its CloudWatch logs (" + LOG_GROUP + ")"),
    503: _d("ZE-NET-006", DEPLOYMENT,
            "API Gateway answered 503 Service Unavailable itself on every attempt (the run retries reads twice, "
            "with backoff): the integration was unavailable, so the Lambda never ran — a deployment this flaky "
            "fails runs; re-run, and check the API's health"),
    504: _d("ZE-LAMBDA-017", DEPLOYMENT,
            "API Gateway answered 504 Endpoint request timed out: the Lambda ran longer than the integration's "
            "~29-30 s limit (it may still be running) — look at its duration in CloudWatch (" + LOG_GROUP + ")"),
}
PROBE_5XX = _d("ZE-ROUTE-003", PLATFORM,
               "{routes} answered a 5xx to a request with a deliberately unknown id or missing parameter: the route "
               "is deployed and the Lambda runs, but it fails instead of refusing cleanly (e.g. an uncaught "
               "NoSuchKey) — worth a look in its CloudWatch logs (" + LOG_GROUP + "); not a gate failure")


def route_missing(*routes: str) -> Diagnosis:
    """ROUTE_MISSING for one route or several ("deploy them")."""
    return ROUTE_MISSING.fill(route=", ".join(routes), it="them" if len(routes) > 1 else "it")


def for_error(error, route: str = "") -> Optional[Diagnosis]:
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
        return for_not_json(getattr(error, "body", "") or getattr(error, "message", ""))
    if kind == "not_object":
        return NOT_OBJECT
    if kind == "http":
        if "could not extract customer_id" in f"{error.message} {error.body}".lower():
            return STAGE_PREFIX
        return for_http(error.status, error.body or error.message, route, getattr(error, "headers", None))
    return None  # refused by the client's own checks, cancelled (the caller says why)


def for_http(status: Optional[int], body: str = "", route: str = "", headers=None) -> Optional[Diagnosis]:
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
    return None


def for_not_json(body: str) -> Diagnosis:
    """A 2xx that is not JSON: a page (HTML: the URL points at something else) or the Lambda's broken body."""
    text = (body or "").lstrip().lower()
    page = text.startswith("<") or "<html" in text[:2000] or "<!doctype" in text[:2000]
    return NOT_JSON if page else BROKEN_JSON


def for_s3(code: str) -> Diagnosis:
    """The diagnosis of an S3 error code (StoreError.code)."""
    if code in ("NoSuchBucket", "404"):
        return S3_NO_BUCKET
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return S3_BAD_KEYS
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return S3_DENIED
    if code == "NoCredentials":
        return S3_NO_CREDENTIALS
    if code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return S3_UNREACHABLE
    return S3_OTHER
