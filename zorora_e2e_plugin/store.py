"""S3 as the validation sees it: JSON objects, prefixes to list, batched deletes.

botocore is imported here and only here, so that the REPL pays for it only when a
run starts; the client is built once per settings and kept (the REPL's second run
pays nothing).
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, List, Optional, Tuple

from .settings import Storage
from .wire_guard import botocore_proxies, cap_s3_answers, read_capped


class StoreError(Exception):
    """An S3 call failed; `code` is S3's error code (or the exception name)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


MAX_CONCURRENT_BATCHES = 10  # delete_objects calls in flight at once (the client's pool holds 16 connections)

_session_lock = threading.Lock()  # botocore sessions are not thread-safe; clients are
_sessions: Dict[Tuple, object] = {}  # AWS_* environment -> botocore session
_clients: "OrderedDict[Tuple, object]" = OrderedDict()  # (storage settings, AWS_* environment) -> S3 client
_CLIENT_CACHE = 8
_starting: set = set()  # keys a start_client thread is building now
_prewarm_started = False


def _aws_env() -> Tuple:
    """What, beyond the settings, decides which credentials and config a client gets (AWS_PROFILE, keys, config
    files, ...): a session and a client are reused only while these are unchanged."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def _botocore_session(env: Tuple):
    """One botocore session per AWS environment: a second client from it skips reloading the service models
    (~100 ms). botocore, not boto3: boto3 adds ~50-100 ms of imports (s3transfer, resources) the run never uses."""
    session = _sessions.get(env)
    if session is None:
        import botocore.session

        session = _sessions[env] = botocore.session.get_session()
    return session


def make_s3_client(settings: Storage):
    """The S3 client for these settings, built once per process (the REPL keeps it for the session) and rebuilt
    when the settings or the AWS_* environment change. Clients are thread-safe."""
    key = (settings, _aws_env())
    with _session_lock:
        client = _clients.get(key)
        if client is not None:
            _clients.move_to_end(key)
            return client
        from botocore.config import Config

        config = Config(
            region_name=settings.region,
            connect_timeout=settings.timeout,
            read_timeout=settings.timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=16,
            proxies=botocore_proxies(settings.s3_endpoint_url),  # a loopback endpoint: never via HTTP(S)_PROXY
        )
        kwargs = {"config": config, "region_name": settings.region}
        if settings.s3_endpoint_url:
            kwargs["endpoint_url"] = settings.s3_endpoint_url
        if settings.aws_access_key_id and settings.aws_secret_access_key:
            kwargs.update(aws_access_key_id=settings.aws_access_key_id,
                          aws_secret_access_key=settings.aws_secret_access_key,
                          aws_session_token=settings.aws_session_token)
        client = _botocore_session(key[1]).create_client("s3", **kwargs)
        cap_s3_answers(client)  # a never-ending listing (or any answer) is cut at 10 MB
        _clients[key] = client
        while len(_clients) > _CLIENT_CACHE:
            _clients.popitem(last=False)
        return client


def start_client(settings: Storage) -> None:
    """Build the S3 client in the background now (imports and models included), so that the run's first S3
    step finds it ready: called at the very start of a run, before the API requests go out. Nothing to do
    when it is built or being built (the CLI starts it before the engine, whose validate() asks again; a
    REPL's second run finds it kept)."""
    key = (settings, _aws_env())
    if key in _clients or key in _starting:
        return
    _starting.add(key)
    _in_background(_build, settings, key, name="zorora-e2e-s3-client")


def _build(settings: Storage, key: Tuple) -> None:
    try:
        make_s3_client(settings)
    finally:
        _starting.discard(key)


def prewarm() -> None:
    """Import botocore and load S3's models in the background, before the settings are known (`demo` and
    `ml-validate-e2e` call it first thing; the sandbox's start-up runs meanwhile). Once per process."""
    global _prewarm_started
    if _prewarm_started:
        return
    _prewarm_started = True
    _in_background(_warm_models, name="zorora-e2e-s3-prewarm")


def _warm_models() -> None:
    with _session_lock:
        # a throwaway client: no request is sent; its service model and endpoint rules stay in the session's cache
        _botocore_session(_aws_env()).create_client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                                                    aws_access_key_id="warm-up", aws_secret_access_key="warm-up")


def _in_background(fn, *args, name: str) -> None:
    """Run fn(*args) in a daemon thread. botocore's import wraps one of its own imports in
    warnings.catch_warnings(), which saves and restores the process's warning filters: a filter another
    thread adds meanwhile (requests silencing urllib3's SOCKS DependencyWarning while the engine imports it)
    can be lost, and the warning then lands on stderr. That one warning is filtered here first, so the
    restore keeps it."""
    warnings.filterwarnings("ignore", message="SOCKS support in urllib3", module=r"urllib3\.contrib\.socks")
    threading.Thread(target=_quietly, args=(fn, *args), daemon=True, name=name).start()


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # a failure shows up again, diagnosed, when the run builds its client
        pass


def _named() -> str:
    """Pool threads named after the thread that starts them (a step's): the request recorder reads it."""
    return threading.current_thread().name


def _describe(exc: Exception) -> StoreError:
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "")) or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return StoreError(f"{code}: {err.get('Message') or exc}", code)
    if isinstance(exc, NoCredentialsError):
        return StoreError("no AWS credentials found", "NoCredentials")
    return StoreError(f"{type(exc).__name__}: {exc}", type(exc).__name__)


MAX_LIST_PAGES = 1000  # 1 000 000 keys under one prefix: far beyond a run's or a sweep's


class ListingError(StoreError):
    """A listing that cannot be finished (a page that says IsTruncated without a continuation token, a token
    that comes back, too many pages): `partial` holds the objects listed before it stopped."""

    def __init__(self, message: str, code: str, partial: List[Dict]):
        super().__init__(message, code)
        self.partial = partial


def paged_listing(fetch, where: str, max_pages: int = MAX_LIST_PAGES) -> List[Dict]:
    """ListObjectsV2's pages, one after the other, bounded: `fetch(token)` gets a page. A page that says it is
    truncated but gives no NextContinuationToken (a broken S3-compatible store or gateway asked the same
    page 735 times in 13 s), a token seen before, or more than `max_pages` pages end the listing with a
    ListingError (a finding: the listing cannot be trusted to be complete), never a loop."""
    objects: List[Dict] = []
    seen: set = set()
    token: Optional[str] = None
    for number in range(1, max_pages + 1):
        page = fetch(token)
        objects.extend(page.get("Contents", []))
        if not page.get("IsTruncated"):
            return objects
        token = page.get("NextContinuationToken")
        if not token:
            raise ListingError(f"ListObjectsV2 of {where} cannot be finished: page {number} says IsTruncated but "
                               f"gives no NextContinuationToken (listing stopped after {len(objects)} object(s)); "
                               "the S3 endpoint is not fully S3-compatible", "TruncatedWithoutToken", objects)
        if token in seen:
            raise ListingError(f"ListObjectsV2 of {where} cannot be finished: page {number} gives a continuation "
                               f"token it gave before (listing stopped after {len(objects)} object(s)); the S3 "
                               "endpoint is not fully S3-compatible", "RepeatedContinuationToken", objects)
        seen.add(token)
    raise ListingError(f"ListObjectsV2 of {where} has more than {max_pages} pages ({len(objects)} object(s) so "
                       "far): listing stopped there", "TooManyPages", objects)


class Store:
    """One bucket through one S3 client; every failure is a StoreError."""

    def __init__(self, client, bucket: str):
        self.client = client
        self.bucket = bucket

    @classmethod
    def open(cls, storage: Storage) -> "Store":
        """The store for `storage`'s bucket, on the client kept for those settings (see make_s3_client)."""
        return cls(make_s3_client(storage), storage.bucket)

    def _call(self, method: str, **kwargs):
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except Exception as exc:  # botocore raises many kinds; all become StoreError
            raise _describe(exc) from None

    # -- objects --------------------------------------------------------------
    def put_json(self, key: str, document) -> None:
        self._call("put_object", Key=key, Body=json.dumps(document, indent=2).encode(),
                   ContentType="application/json")

    def put_bytes(self, key: str, body: bytes) -> None:
        self._call("put_object", Key=key, Body=body)

    def get_bytes(self, key: str) -> Optional[bytes]:
        """The object's bytes, or None when it does not exist."""
        try:
            body = self._call("get_object", Key=key)["Body"]
            seconds = getattr(getattr(getattr(self.client, "meta", None), "config", None), "read_timeout", None)
            try:
                return read_capped(body, f"s3://{self.bucket}/{key}", seconds=seconds)  # 10 MB, in --timeout
            except ValueError as exc:
                raise StoreError(str(exc), "TooLarge") from None
            except TimeoutError as exc:
                raise StoreError(str(exc), "ReadTimeoutError") from None
            except Exception as exc:  # the body broke off mid-read (botocore's read errors)
                raise _describe(exc) from None
        except StoreError as exc:
            if exc.code in ("NoSuchKey", "404"):
                return None
            raise

    def get_json(self, key: str) -> Tuple[Optional[Dict], Optional[bytes]]:
        """(parsed document, raw bytes); (None, None) when absent. Bad JSON raises StoreError."""
        raw = self.get_bytes(key)
        if raw is None:
            return None, None
        try:
            return json.loads(raw), raw
        except ValueError as exc:
            raise StoreError(f"{key} is not valid JSON: {exc}", "InvalidJSON") from None

    def head_bucket(self) -> None:
        self._call("head_bucket")

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    # -- prefixes ---------------------------------------------------------------
    def list_objects(self, prefix: str) -> List[Dict]:
        """Every object under `prefix` (all pages, at most MAX_LIST_PAGES): dicts with Key, LastModified, Size."""
        def page(token: Optional[str]) -> Dict:
            return self._call("list_objects_v2", Prefix=prefix, **({"ContinuationToken": token} if token else {}))

        return paged_listing(page, f"s3://{self.bucket}/{prefix}")

    def list_keys(self, prefix: str) -> List[str]:
        return [obj["Key"] for obj in self.list_objects(prefix)]

    def list_many(self, prefixes: Iterable[str]) -> Dict[str, List[str]]:
        """List several prefixes concurrently (one round trip, not one per prefix)."""
        prefixes = list(prefixes)
        with ThreadPoolExecutor(max_workers=len(prefixes) or 1, thread_name_prefix=_named()) as pool:
            return dict(zip(prefixes, pool.map(self.list_keys, prefixes)))

    def delete_keys(self, keys: Iterable[str]) -> Tuple[int, List[str]]:
        """Batched delete (1000 keys a call, S3's limit), the batches concurrently: one round trip for a run's
        cleanup and for a sweep of 10 000 objects alike. Returns (deleted count, keys that failed)."""
        keys = list(keys)
        batches = [keys[start:start + 1000] for start in range(0, len(keys), 1000)]

        def delete_batch(batch: List[str]) -> List[str]:
            answer = self._call("delete_objects",
                                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            return [e.get("Key") for e in answer.get("Errors", [])]

        if len(batches) <= 1:
            results = [delete_batch(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(max_workers=min(len(batches), MAX_CONCURRENT_BATCHES),
                                    thread_name_prefix=_named()) as pool:
                results = list(pool.map(delete_batch, batches))
        failed = [key for errors in results for key in errors]
        return len(keys) - len(failed), failed

