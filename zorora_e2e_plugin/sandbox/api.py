"""globalTrainingService as a Lambda handler for API Gateway HTTP API (payload format 2.0) events.

The thin "responses" half of the sandbox: parse the event, authenticate, route, call
``rules.Platform``, shape the answer. Routing also plays API Gateway's part (unknown route ->
``{"message":"Not Found"}``), so the handler behaves the same behind the sandbox's loopback
server and deployed as a real Lambda (``handler`` reads OUTPUT_BUCKET, INTERNAL_API_TOKEN,
USE_BEARER_AUTH and, for demos, SANDBOX_FAULTS from the environment).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from .faults import FaultSet
from .rules import BadRequest, Deployment, NotFound, Platform, PlatformError

log = logging.getLogger(__name__)

STAGE = "prod"
BASE = "/api/v1"
JSON_HEADERS = {"content-type": "application/json"}
FIXED_ACTOR = "ona-globalTrainingService-prod"  # the fixed-actor fault: a service identity, not the caller


@dataclass
class ApiConfig:
    """What the Lambda is configured with. ``faults`` may be replaced at runtime (set_faults)."""

    bucket: str = "sa-api-client-output"
    token: str | None = None
    use_bearer_auth: bool = True
    faults: FaultSet = field(default_factory=FaultSet)
    s3: Any = None  # a boto3 S3 client
    stage: str = STAGE

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, s3: Any = None) -> ApiConfig:
        env = os.environ if environ is None else environ
        if s3 is None:
            import boto3  # a real Lambda: region and credentials from its environment

            s3 = boto3.client("s3")
        faults = [f for f in (env.get("SANDBOX_FAULTS") or "").split(",") if f.strip()]
        return cls(
            bucket=env.get("OUTPUT_BUCKET") or "sa-api-client-output",
            token=env.get("INTERNAL_API_TOKEN") or None,
            use_bearer_auth=(env.get("USE_BEARER_AUTH") or "").strip().lower() in ("1", "true", "yes", "on"),
            faults=FaultSet(faults),
            s3=s3,
        )


def _response(status: int, body: dict[str, Any], request_id: str = "") -> dict[str, Any]:
    headers = dict(JSON_HEADERS)
    if request_id:
        headers["apigw-requestid"] = request_id
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def gateway_not_found(request_id: str = "") -> dict[str, Any]:
    return _response(404, {"message": "Not Found"}, request_id)


def _split(raw_path: str) -> tuple[str, ...]:
    return tuple(seg for seg in raw_path.split("/") if seg != "")


class Api:
    """A callable Lambda handler bound to a configuration."""

    def __init__(self, config: ApiConfig) -> None:
        self.config = config

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return self.handle(event, context)

    # ------------------------------------------------------------------ event parsing

    def _route(self, method: str, raw_path: str, faults: FaultSet) -> tuple[str, str | None] | None:
        """(route, raw greedy tail) as API Gateway would match it, or None for its 404."""
        segments = _split(raw_path)
        stage = self.config.stage
        if stage and segments[:1] == (stage,):
            segments = segments[1:]
        if segments[:2] != ("api", "v1") or len(segments) < 3:
            return None
        name, rest = segments[2], segments[3:]
        route = "/" + name
        if route in faults.missing_routes:
            return None
        if route == "/metrics" and method == "GET" and rest:
            if "metrics-non-greedy" in faults and len(rest) > 1:
                return None  # a {model_id} route matches exactly one path segment
            return route, "/".join(rest)
        if rest:
            return None
        allowed = {"/challengers": "GET", "/diff": "GET", "/audit-log": "GET", "/promote": "POST", "/rollback": "POST"}
        if allowed.get(route) != method:
            return None
        return route, None

    def _authorised(self, headers: dict[str, str], faults: FaultSet) -> bool:
        if not self.config.use_bearer_auth:
            return True
        if "bad-token" in faults or not self.config.token:
            return False
        scheme, _, presented = (headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return False
        return hmac.compare_digest(presented.strip().encode("utf-8"), self.config.token.encode("utf-8"))

    @staticmethod
    def _body(event: dict[str, Any]) -> dict[str, Any]:
        raw = event.get("body")
        if raw is None or raw == "":
            raise BadRequest("Request body must be a JSON object")
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(raw).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise BadRequest("Request body is not valid base64-encoded UTF-8") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        return body

    @staticmethod
    def _actor(body: dict[str, Any], headers: dict[str, str], faults: FaultSet) -> str:
        """The body's actor, else X-Actor (actor-from-header: the other way round; both are legitimate)."""
        if "fixed-actor" in faults:
            return FIXED_ACTOR
        from_body = body.get("actor") if isinstance(body.get("actor"), str) else ""
        from_header = headers.get("x-actor") or ""
        first, second = (from_header, from_body) if "actor-from-header" in faults else (from_body, from_header)
        return (first or "").strip() or (second or "").strip() or "unknown"

    # ------------------------------------------------------------------ dispatch

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return _variant(self._handle(event, context), self.config.faults)

    def _handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        faults = self.config.faults
        ctx = event.get("requestContext") or {}
        http = ctx.get("http") or {}
        method = str(http.get("method") or event.get("httpMethod") or "GET").upper()
        raw_path = str(event.get("rawPath") or http.get("path") or "/")
        request_id = str(ctx.get("requestId") or getattr(context, "aws_request_id", "") or uuid.uuid4())
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}

        matched = self._route(method, raw_path, faults)
        if matched is None:
            return gateway_not_found(request_id)
        route, tail = matched
        if not self._authorised(headers, faults):
            return _response(401, {"error": "Unauthorized"}, request_id)
        if "stage-prefix" in faults:
            return _response(500, {"error": "Could not extract customer_id from event"}, request_id)

        query = {k: v[-1] for k, v in parse_qs(event.get("rawQueryString") or "", keep_blank_values=True).items()}
        for k, v in (event.get("queryStringParameters") or {}).items():
            query.setdefault(k, v)
        platform_class = Platform
        if (route == "/promote" and "noop-promote" in faults) or (route == "/rollback" and "noop-rollback" in faults):
            platform_class = _NoWritePlatform
        platform = platform_class(
            self.config.s3,
            self.config.bucket,
            Deployment(
                resolve_latest_alias="no-latest-alias" not in faults,
                write_audit="no-audit" not in faults,
                archive_on_promote="no-archive" not in faults,
                archive_on_rollback="no-rollback-archive" not in faults,
                delete_restored_archive="keep-restored-archive" not in faults,
                enforce_gates="no-gates" not in faults,
            ),
        )
        platform.archive_wrapped = "archive-wrapped" in faults
        platform.rolled_back_reason = str(faults.value("archive-reason") or "rolled_back")
        try:
            result = self._dispatch(_Call(route, tail, query, event, headers, request_id), platform, faults)
        except PlatformError as exc:
            return _response(exc.status, exc.body(), request_id)
        except Exception:
            log.exception("unhandled error on %s %s", method, route)
            return _response(500, {"error": "Internal server error"}, request_id)
        return _response(200, result, request_id)

    def _dispatch(self, call: _Call, platform: Platform, faults: FaultSet) -> dict[str, Any]:
        route, tail, query, event, headers, request_id = (
            call.route,
            call.tail,
            call.query,
            call.event,
            call.headers,
            call.request_id,
        )
        if route == "/challengers":
            return platform.list_challengers(query.get("customer_id"))
        if route == "/audit-log":
            return platform.audit_log(query.get("customer_id"))
        if route == "/metrics":
            model_id = unquote(tail or "")
            if "metrics-non-greedy" in faults and "/" in model_id:
                # The encoded id reached the Lambda, whose key lookup does not handle '/'.
                raise NotFound(f"Metrics not found for model {model_id}")
            return platform.get_metrics(model_id)
        if route == "/diff":
            return platform.diff(query.get("challenger_id"), query.get("production_id"))
        body = self._body(event)
        actor = self._actor(body, headers, faults)
        if route == "/promote":
            force = body.get("force", False)
            if force is None:
                force = False
            if not isinstance(force, bool):
                raise BadRequest("force must be true or false")
            return platform.promote(
                body.get("customer_id"),
                body.get("model_id"),
                body.get("reason"),
                force=force,
                actor=actor,
                request_id=request_id,
            )
        if route == "/rollback":
            return platform.rollback(body.get("customer_id"), body.get("reason"), actor=actor, request_id=request_id)
        raise PlatformError(f"route {route} has no implementation")


@dataclass(frozen=True)
class _Call:
    """One request as the Lambda's router matched it."""

    route: str
    tail: str | None  # what follows the route in the path (/metrics/<model id>)
    query: dict[str, str]
    event: dict[str, Any]
    headers: dict[str, str]  # lower-case names
    request_id: str


def _variant(result: dict[str, Any], faults: FaultSet) -> dict[str, Any]:
    """The legitimate variants that only reshape an answer: error-key:<key> (the Lambda's error text under
    another key), unknown-id-500 (a 404 of the Lambda's becomes API Gateway's 500 for a crashed integration),
    round:<digits> (/diff's percentages rounded)."""
    key, digits = faults.value("error-key"), faults.value("round")
    if not (key or digits is not None or "unknown-id-500" in faults):
        return result
    try:
        body = json.loads(result.get("body") or "")
    except ValueError:
        return result
    if not isinstance(body, dict):
        return result
    status = int(result.get("statusCode") or 500)
    if status == 404 and "error" in body and "unknown-id-500" in faults:
        return {**result, "statusCode": 500, "body": json.dumps({"message": "Internal Server Error"})}
    if status >= 400 and key and "error" in body and key != "error":
        body = {(key if k == "error" else k): v for k, v in body.items()}
    if status == 200 and digits is not None and isinstance(body.get("improvement"), dict):
        body["improvement"] = {
            k: round(v, int(digits)) if isinstance(v, (int, float)) else v for k, v in body["improvement"].items()
        }
    return {**result, "body": json.dumps(body, separators=(",", ":"))}


class _NoWritePlatform(Platform):
    """The noop-promote / noop-rollback faults: every check and read happens, every write is skipped,
    and the answer is the usual 200 (a Lambda that writes to the wrong place, or forgets to)."""

    def _put_json(self, key: str, doc: Any, *, if_match: str | None = None, create: bool = False) -> str:
        return '"noop"'

    def _delete(self, key: str, *, if_match: str | None = None) -> None:
        return None


_env_api: Api | None = None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point when deployed: configuration from the environment, built once."""
    global _env_api
    if _env_api is None:
        _env_api = Api(ApiConfig.from_env())
    return _env_api.handle(event, context)
