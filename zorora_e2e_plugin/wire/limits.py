"""What the run's HTTP clients never do, whatever the environment or the server: send loopback traffic through
the user's proxy, or read an unbounded answer. The rules are here: the run's adapter (adapter.py) sends a loopback
URL to no proxy and reads answers by them, and watch.py puts `s3_capped_sender` on each S3 client.

- **Loopback never goes through a proxy.** `HTTP_PROXY`/`HTTPS_PROXY` are set in most corporate shells, and
  requests and botocore both honour them: a sandbox on 127.0.0.1 (or a tunnel to a local port) was reached
  through the proxy, which cannot reach this machine's loopback. Only the proxy is skipped: the rest of the
  environment (`REQUESTS_CA_BUNDLE` for a loopback HTTPS target with its own certificate) still applies. A real
  target keeps the user's proxy settings, and `NO_PROXY`, exactly as requests and botocore apply them.
- **One answer is at most MAX_ANSWER_BYTES.** A server that streams a never-ending body grew the process's
  memory without bound; the real answers are a few KB. A longer one is cut and fails its request
  (`AnswerTooLarge`, a requests exception), in the direct client, Zorora's client (its session) and S3 reads.

Importing this module is cheap: requests is imported only when an answer is read.
"""

from __future__ import annotations

from ..config.checks import is_loopback

MAX_ANSWER_BYTES = 10 * 1024 * 1024
_CHUNK = 64 * 1024


def botocore_proxies(endpoint_url: str | None) -> dict | None:
    """`Config(proxies=...)` for an S3 client: {} (no proxy at all) for a loopback endpoint, else None
    (botocore's own rule: the environment's proxies and NO_PROXY)."""
    return {} if endpoint_url and is_loopback(endpoint_url) else None


def too_large(what: str, limit: int = MAX_ANSWER_BYTES) -> str:
    return (
        f"{what} is larger than {limit // (1024 * 1024)} MB (the API's and the bucket's answers are a few KB): "
        "reading stopped there"
    )


def _read_some(stream, size: int, **options) -> bytes:
    """What one receive brings (urllib3's read1), at most `size` bytes: `read(size)` would wait for all of them,
    and a body trickling in a byte at a time never trips a per-read timeout."""
    read1 = getattr(stream, "read1", None)
    return read1(size, **options) if read1 is not None else stream.read(size)


def read_capped(body, what: str, limit: int = MAX_ANSWER_BYTES, seconds: float | None = None) -> bytes:
    """At most `limit` bytes of a file-like body (botocore's StreamingBody), all within `seconds` when given;
    else ValueError (too large) or TimeoutError (still arriving)."""
    import time

    stream = getattr(body, "_raw_stream", body)  # botocore's StreamingBody wraps urllib3's response
    deadline = time.monotonic() + seconds if seconds else None
    data = bytearray()
    while True:
        chunk = _read_some(stream, _CHUNK)
        if not chunk:
            return bytes(data)
        data += chunk
        problem: Exception | None = None
        if len(data) > limit:
            problem = ValueError(too_large(what, limit))
        elif deadline is not None and time.monotonic() > deadline:
            problem = TimeoutError(f"{what}: its body was still arriving after {seconds:g}s (timeout)")
        if problem is not None:
            try:
                body.close()
            except Exception:
                pass
            raise problem


def s3_capped_sender(client, limit: int = MAX_ANSWER_BYTES):
    """S3's answer cap: a botocore `before-send` handler (watch.py registers it, for the client's life) by which
    every S3 answer `client` reads whole (listings, errors, heads: all but GetObject's body, which Store.get_bytes
    reads with read_capped) is read at most `limit` bytes, within the read timeout in all: botocore would read a
    never-ending ListObjectsV2 body into memory. It sends the request itself (the client's own HTTP session) and
    reads the body; botocore parses it as usual."""
    session = client._endpoint.http_session
    seconds = getattr(client.meta.config, "read_timeout", None)

    def send(request, **kwargs):
        if request.stream_output:  # GetObject: its body is the caller's to read (read_capped)
            return None
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
        from urllib3.exceptions import ProtocolError
        from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

        request.stream_output = True
        response = session.send(request)
        what = f"the S3 answer to {request.method} {request.url.split('?', 1)[0]}"
        try:
            response._content = read_capped(response.raw, what, limit, seconds)
        except Urllib3ReadTimeout as exc:
            raise ReadTimeoutError(endpoint_url=request.url, error=exc) from None
        except ProtocolError as exc:
            raise ConnectionClosedError(error=exc, request=request, endpoint_url=request.url) from None
        release = getattr(response.raw, "release_conn", None)
        if release is not None:
            release()
        return response

    return send


def _answer_too_large():
    import requests

    class AnswerTooLarge(requests.exceptions.RequestException):
        """An answer longer than MAX_ANSWER_BYTES: cut, its request failed."""

    return AnswerTooLarge


_error_class = None


def answer_too_large_error():
    global _error_class
    if _error_class is None:
        _error_class = _answer_too_large()
    return _error_class


def _read_timeout(timeout) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[-1]
    return float(timeout) if isinstance(timeout, (int, float)) and timeout > 0 else None


def read_answer(response, timeout, limit: int = MAX_ANSWER_BYTES) -> None:
    """Reads a response's body (at most `limit` bytes) before requests would read all of it, within the request's
    read timeout in all (a body that trickles in forever never trips a per-read timeout); AnswerTooLarge or
    requests' ReadTimeout else. The run's adapter calls it for every answer its caller does not stream."""
    if getattr(response, "_content", False) is not False:
        return
    import time

    seconds = _read_timeout(timeout)
    deadline = time.monotonic() + seconds if seconds else None
    declared = response.headers.get("Content-Length", "")
    url = getattr(response, "url", "") or ""
    what = f"the answer to {getattr(response.request, 'method', '')} {url.split('?', 1)[0]}".replace("  ", " ")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise answer_too_large_error()(too_large(what, limit), response=response)
    body = bytearray()
    for chunk in _chunks(response):
        body += chunk
        if len(body) > limit:
            response.close()
            raise answer_too_large_error()(too_large(what, limit), response=response)
        if deadline is not None and time.monotonic() > deadline:
            import requests

            response.close()
            raise requests.exceptions.ReadTimeout(
                f"{what}: its body was still arriving after {seconds:g}s (timeout)", response=response
            )
    response._content = bytes(body)
    response._content_consumed = True


def _chunks(response):
    """The decoded body as it arrives, one receive at a time, with urllib3's errors as requests' own (as
    Response.iter_content raises them)."""
    import requests
    import urllib3.exceptions as u3

    raw = response.raw
    try:
        while True:
            chunk = _read_some(raw, _CHUNK, decode_content=True)
            if not chunk:
                return
            yield chunk
    except u3.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc, response=response) from None
    except u3.SSLError as exc:
        raise requests.exceptions.SSLError(exc, response=response) from None
    except u3.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc, response=response) from None
    except u3.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc, response=response) from None


__all__ = [
    "MAX_ANSWER_BYTES",
    "answer_too_large_error",
    "botocore_proxies",
    "read_answer",
    "read_capped",
    "s3_capped_sender",
]
