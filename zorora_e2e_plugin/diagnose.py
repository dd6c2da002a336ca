"""Plain-words causes and fixes for the failure modes seen in the real deployment
(CONTRACT.md §3). Each function turns an observation into a hint: `for_error` a failed operation (by the
kind its client gave it), `for_http` an HTTP answer, `for_s3` an S3 error code.
"""

from __future__ import annotations

from typing import Optional

FUNCTION = "ona-globalTrainingService-prod"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"

STAGE_PREFIX = ("the Lambda does not strip the API Gateway stage prefix: it routes on rawPath "
                "'/prod/api/v1/...' and fails with 'Could not extract customer_id from event' — "
                "strip '/prod' (requestContext.stage) before routing")
TOKEN_MISMATCH = ("the Lambda rejected the bearer token: its INTERNAL_API_TOKEN does not match ONA_API_TOKEN — "
                  "re-read SSM /ona-platform/prod/global-training-api-token (--token-from-ssm), and check "
                  "the Lambda's USE_BEARER_AUTH=true and INTERNAL_API_TOKEN environment")
FORBIDDEN = "HTTP 403 is an IAM-level denial: check the API Gateway authorizer / resource policy and the Lambda's IAM permissions"
ROUTE_MISSING = ("API Gateway has no route for {route}: deploy it on the prod stage "
                 "(GET /challengers, GET /metrics/{{model_id+}}, GET /diff, POST /promote, POST /rollback, "
                 "GET /audit-log) with the Lambda proxy integration")
NON_GREEDY = ("model ids contain '/'; the metrics route is not greedy — use {model_id+} or URL-encode the id "
              "(the metrics object exists in S3)")
METRICS_KEY = ("the metrics object exists at {key} but the Lambda did not find it: its key format differs from "
               "model_metrics/{{customer_id}}/{{model_id}}/backtest_results.json or it ignores metrics_ref")
LATEST_ALIAS = ("Zorora's ml-promote asks GET /diff with production_id='<customer>/production/latest' (a placeholder "
                "alias); the Lambda must resolve it to the customer's current production model")
THIRD_ACTOR = ("the Lambda recorded the actor {recorded!r}, which is neither the body's 'actor' nor the X-Actor "
               "header (both {actor!r}, the caller): get_actor_from_event() in " + FUNCTION + " must take the "
               "caller's actor (body 'actor' or X-Actor), not the IAM identity or a fixed service name")
NO_AUDIT = ("the Lambda did not append an audit event to audit_logs/{customer}/events.json: "
            "every promote/rollback must write one")
NO_ARCHIVE = ("the Lambda did not archive the previous production to customer_tailored/{customer}/archived/: "
              "without it a rollback has nothing to restore")
WRONG_BUCKET = ("the API does not see the test data written to s3://{bucket}/: the Lambda's OUTPUT_BUCKET "
                "(or region) differs from --bucket/OUTPUT_BUCKET")
NOT_OBJECT = ("the API answered JSON that is not one object (e.g. an array around it): the Lambda must answer "
              "each request with a single JSON object, as Zorora's ml-* commands expect")
ACTS_WITHOUT_VALIDATING = ("the server acts without validating: it accepted a promote/rollback with a 3-character "
                           "reason for a customer that has no registry; validate the reason (>= 10 characters) and "
                           "the registry before doing anything")
GATES_SKIPPED = ("the server promoted a challenger that fails its gates (evaluated more than 7 days ago, verdict "
                 "not_eligible) without force: enforce the promotion gates in " + FUNCTION + " unless force")
NOT_JSON = ("the API answered 2xx with a body that is not JSON: ONA_API_BASE_URL may point at a web page, a proxy "
            "or a login portal instead of .../prod/api/v1, or the Lambda returned a truncated body")
COLD_START = ("no answer within --timeout: the container-image Lambda may be cold-starting (the first request "
              "can take seconds) or hanging — retry, or raise --timeout")
CONNECT = ("cannot connect: check ONA_API_BASE_URL (host, scheme, port), that API Gateway is deployed, "
           "and network/VPN/proxy access")
DNS = ("the host name in ONA_API_BASE_URL does not resolve: check it for typos (it looks like "
       "https://<api-id>.execute-api.af-south-1.amazonaws.com/prod/api/v1) and your DNS/VPN")
TLS = ("the TLS handshake failed (certificate not trusted or wrong host): check the scheme and host of "
       "ONA_API_BASE_URL; behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE to its CA bundle")
SERVER_ERROR = ("the Lambda failed with HTTP {status} (a read: after the run's retries): look at its CloudWatch logs ("
                + LOG_GROUP + "); 503s that come and go are throttling or a flaky deployment")


def is_gateway_404(status: Optional[int], body: str, headers=None) -> bool:
    """API Gateway's own 404 (no route matched): its fixed body `{"message":"Not Found"}` (or its
    x-amzn-ErrorType header); a Lambda's 404 may use any key, `message` included (client/answers.py)."""
    from .client.answers import is_gateway_404 as gateway_404

    return gateway_404(status, body, headers)


def answer_source(status: int, body: str, headers=None) -> str:
    """Who answered (client/answers.py): "accepted", "gateway" (API Gateway's 404), "auth", "throttled"
    (429), "server" (5xx), "lambda" (a 4xx JSON object that is not one of API Gateway's own) or "other"."""
    from .client.answers import answer_source as source

    return source(status, body, headers)


def _gateway_answer(status: int, body: str, headers=None) -> bool:
    from .client.answers import from_gateway

    return from_gateway(status, body, headers)


THROTTLED = ("HTTP 429: API Gateway throttled the requests (the API stage's or the usage plan's rate/burst "
             "limits), not a Lambda failure: raise the stage's or usage plan's throttling limits, or run when "
             "the API is less busy; the run already sends at most a few requests at once and retries reads")
GATEWAY_5XX = {
    500: ("API Gateway answered 500 Internal Server Error itself: the Lambda crashed (an uncaught exception) or "
          "its integration is misconfigured — look at its CloudWatch logs (" + LOG_GROUP + ")"),
    503: ("API Gateway answered 503 Service Unavailable itself on every attempt (the run retries reads twice, "
          "with backoff): the integration was unavailable, so the Lambda never ran — a deployment this flaky "
          "fails runs; re-run, and check the API's health"),
    504: ("API Gateway answered 504 Endpoint request timed out: the Lambda ran longer than the integration's "
          "~29-30 s limit (it may still be running) — look at its duration in CloudWatch (" + LOG_GROUP + ")"),
}
PROBE_5XX = ("{routes} answered a 5xx to a request with a deliberately unknown id or missing parameter: the route "
             "is deployed and the Lambda runs, but it fails instead of refusing cleanly (e.g. an uncaught "
             "NoSuchKey) — worth a look in its CloudWatch logs (" + LOG_GROUP + "); not a gate failure")


def for_error(error, route: str = "") -> str:
    """The hint for a failed ONA operation (client.OnaError), by its kind, then its status and body."""
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
        return NOT_JSON
    if kind == "not_object":
        return NOT_OBJECT
    if kind == "http":
        if "could not extract customer_id" in f"{error.message} {error.body}".lower():
            return STAGE_PREFIX
        return for_http(error.status, error.body or error.message, route, getattr(error, "headers", None))
    return ""  # refused by the client's own checks, cancelled (the caller says why)


def for_http(status: Optional[int], body: str = "", route: str = "", headers=None) -> str:
    """The hint for an HTTP answer that is an error, or '' when nothing specific is known."""
    if status is None:
        return ""
    text = (body or "").lower()
    if "could not extract customer_id" in text:
        return STAGE_PREFIX
    if status == 401:
        return TOKEN_MISMATCH
    if status == 403:
        return FORBIDDEN
    if is_gateway_404(status, body, headers):
        return ROUTE_MISSING.format(route=route or "this path")
    if status == 429:
        return THROTTLED
    if status in GATEWAY_5XX and (status == 504 or _gateway_answer(status, body, headers)):
        return GATEWAY_5XX[status]
    if status >= 500:
        return SERVER_ERROR.format(status=status)
    if 200 <= status < 300:
        return NOT_JSON
    return ""


def for_s3(code: str) -> str:
    """The hint for an S3 error code (StoreError.code)."""
    if code in ("NoSuchBucket", "404"):
        return ("the bucket does not exist (or is in another region): set --bucket/OUTPUT_BUCKET to the Lambda's "
                "OUTPUT_BUCKET and --region/AWS_REGION to its region")
    if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return ("S3 refused the credentials: the IAM identity needs s3:GetObject, s3:PutObject, s3:ListBucket and "
                "s3:DeleteObject on the bucket; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE")
    if code == "NoCredentials":
        return "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
    if code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return "S3 did not answer: check the network, --s3-endpoint-url/AWS_ENDPOINT_URL_S3 and --region"
    return "check the bucket, the region and the AWS credentials"


# What a hint names for the CLI, and what a Zorora session changes instead (`ml-validate-e2e` has no
# --base-url, --token-from-ssm, --region or --s3-endpoint-url: its target is the REPL's own client and the
# environment Zorora started with). Longest first: each CLI phrase is replaced by the session's.
_SESSION_WORDS = (
    ("--s3-endpoint-url/AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_S3"),
    ("--region/AWS_REGION", "AWS_REGION"),
    ("--base-url (ONA_API_BASE_URL)", "ONA_API_BASE_URL (then restart Zorora)"),
    ("(--token-from-ssm)", "(into ONA_API_TOKEN, then restart Zorora)"),
    ("--s3-endpoint-url", "AWS_ENDPOINT_URL_S3"),
    ("--region", "AWS_REGION"),
    ("--token-from-ssm", "ONA_API_TOKEN (then restart Zorora)"),  # any other wording of the two
    ("--base-url", "ONA_API_BASE_URL (then restart Zorora)"),
)


def for_session(hint: str) -> str:
    """A hint as a Zorora session reads it: the CLI-only flags it names become what the session changes."""
    for cli, session in _SESSION_WORDS:
        hint = hint.replace(cli, session)
    return hint
