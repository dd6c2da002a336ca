"""The `s3-auth` fault: the public S3 checks each request's credentials as AWS S3 does, so that an engineer's
wrong AWS settings can be tried against the sandbox (moto accepts any key and any signature).

    a session token (X-Amz-Security-Token)       400 ExpiredToken: the sandbox issues none, so any is expired
    an access key id other than the sandbox's      403 InvalidAccessKeyId
    the sandbox's key signed with another secret   403 SignatureDoesNotMatch (SigV4, recomputed here)
    no SigV4 Authorization header                  403 AccessDenied

As AWS does, the error is an XML `<Error>` document, except in the answer to a HEAD, which has no body: a client
then sees only the status (400 Bad Request, 403 Forbidden).
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

from .wsgi import _raw_target, _status_line

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]*)/(?P<date>\d{8})/(?P<region>[^/,\s]*)/"
    r"(?P<service>[^/,\s]*)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]*),\s*"
    r"Signature=(?P<signature>[0-9a-f]+)"
)
EXPIRED = (400, "ExpiredToken", "The provided token has expired.")
UNKNOWN_KEY = (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
BAD_SIGNATURE = (
    403,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
)
UNSIGNED = (403, "AccessDenied", "Access Denied")


def refusal(environ: dict[str, Any], access_key: str, secret: str) -> tuple[int, str, str] | None:
    """(status, code, message) as AWS S3 answers a request whose credentials are not the sandbox's; None when
    they are."""
    if environ.get("HTTP_X_AMZ_SECURITY_TOKEN"):
        return EXPIRED
    match = _AUTH.match(environ.get("HTTP_AUTHORIZATION") or "")
    if not match:
        return UNSIGNED
    if match["key"] != access_key:
        return UNKNOWN_KEY
    if not hmac.compare_digest(_signature(environ, match, secret), match["signature"]):
        return BAD_SIGNATURE
    return None


def _header(environ: dict[str, Any], name: str) -> str:
    if name in ("content-type", "content-length"):
        return str(environ.get(name.upper().replace("-", "_")) or "")
    return str(environ.get("HTTP_" + name.upper().replace("-", "_")) or "")


def _signature(environ: dict[str, Any], match: re.Match[str], secret: str) -> str:
    """The SigV4 signature of this request (its signed headers, as they arrived) with `secret`, computed by
    botocore's own S3 signer: S3 signs the path as sent and the payload hash of X-Amz-Content-SHA256."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    path, query = _raw_target(environ)
    headers = {name: _header(environ, name) for name in match["signed"].split(";") if name}
    url = f"http://{headers.get('host') or environ.get('HTTP_HOST', '')}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"), url=url, headers=headers)
    request.context["timestamp"] = headers.get("x-amz-date") or _header(environ, "x-amz-date")
    signer = S3SigV4Auth(Credentials(match["key"], secret), match["service"], match["region"])
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def answer(environ: dict[str, Any], start_response, refused: tuple[int, str, str]):
    """AWS's error answer: an XML <Error>, or for a HEAD the status alone."""
    status, code, message = refused
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        b""
        if environ.get("REQUEST_METHOD") == "HEAD"
        else (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
            + code
            + "</Code><Message>"
            + escape(message)
            + "</Message><RequestId>"
            + request_id
            + "</RequestId></Error>"
        ).encode()
    )
    start_response(
        _status_line(status),
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("x-amz-request-id", request_id)],
    )
    return [body]
