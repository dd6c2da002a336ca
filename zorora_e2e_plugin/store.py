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
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from . import store_listing
from .store_delete import Deleting
from .settings import Storage
from .store_errors import StoreError
from .wire_guard import botocore_proxies, cap_s3_answers, read_capped


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
        from .botocore_loader import new_session  # s3's models found by name, not in a list of every service

        session = _sessions[env] = new_session()
    return session


def s3_models():
    """The botocore loader of this process's S3 clients (AWS_* environment as it is), for a sandbox started in
    this process to share (sandbox_run): S3's models are read and parsed once per process, not once a side."""
    with _session_lock:
        return _botocore_session(_aws_env()).get_component("data_loader")


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
    """Build the S3 client in the background now (imports and models included), before the API requests go
    out, so that the run's first S3 step finds it ready. Nothing to do when it is built or being built (the CLI
    starts it before the engine, whose validate() asks again; a REPL's second run finds it kept)."""
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
    """Run fn(*args) in a daemon thread. botocore's import wraps one of its imports in warnings.catch_warnings(),
    which saves and restores the process's warning filters: a filter another thread adds meanwhile (requests
    silencing urllib3's SOCKS DependencyWarning while the engine imports it) can be lost and the warning then
    lands on stderr. That one warning is filtered here first, so the restore keeps it."""
    warnings.filterwarnings("ignore", message="SOCKS support in urllib3", module=r"urllib3\.contrib\.socks")
    threading.Thread(target=_quietly, args=(fn, *args), daemon=True, name=name).start()


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # a failure shows up again, diagnosed, when the run builds its client
        pass


def pool_thread_name() -> str:
    """Pool threads named after the thread that starts them (a step's `zorora-e2e-step-<id>`): the request
    recorder tells which step sent a request by its thread's name."""
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


class Store(Deleting):
    """One bucket through one S3 client; every failure is a StoreError.

    `scope`: the only key prefixes this store may delete under (a run: its customer's three prefixes; a sweep:
    the test customers'). Every DeleteObject(s) goes through `_delete`, which drops any key outside the scope
    before anything is sent, whatever a listing said (`refused` keeps them). A store without a scope deletes
    nothing."""

    def __init__(self, client, bucket: str, scope: Sequence[str] = ()):
        self.client = client
        self.bucket = bucket
        self.scope: Tuple[str, ...] = tuple(p for p in scope if p)
        self.listings = store_listing.Listings()
        self.refused: List[str] = []  # keys a delete was asked for outside the scope: never sent
        self.last_error = ""  # the code S3 gave for the last delete it refused (AccessDenied ...)
        self._read_tags: Dict[str, Tuple[str, bytes]] = {}  # key -> (ETag, bytes) as last read

    @classmethod
    def open(cls, storage: Storage, scope: Sequence[str] = ()) -> "Store":
        """The store for `storage`'s bucket, on the client kept for those settings (see make_s3_client)."""
        return cls(make_s3_client(storage), storage.bucket, scope)

    def _call(self, method: str, **kwargs):
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except Exception as exc:  # botocore raises many kinds; all become StoreError
            raise _describe(exc) from None

    def _answer(self, method: str, **kwargs):
        answer = self._call(method, **kwargs)
        self.listings.saw(answer)
        return answer

    # -- objects --------------------------------------------------------------
    def put_json(self, key: str, document) -> None:
        self._call("put_object", Key=key, Body=json.dumps(document, indent=2).encode(),
                   ContentType="application/json")

    def put_bytes(self, key: str, body: bytes, if_match: str = "") -> None:  # if_match: an ETag (S3 refuses
        # the write, PreconditionFailed, when the object changed since)
        self._call("put_object", Key=key, Body=body, **({"IfMatch": if_match} if if_match else {}))

    def etag_of(self, key: str, body: Optional[bytes]) -> str:
        """The ETag S3 gave with `body` when this store last read `key` ("" unless that read returned `body`)."""
        tag, read = self._read_tags.get(key, ("", None))
        return tag if body is not None and read == body else ""

    def get_bytes(self, key: str) -> Optional[bytes]:
        """The object's bytes, or None when it does not exist."""
        try:
            answer = self._call("get_object", Key=key)
            seconds = getattr(getattr(getattr(self.client, "meta", None), "config", None), "read_timeout", None)
            try:
                raw = read_capped(answer["Body"], f"s3://{self.bucket}/{key}", seconds=seconds)  # 10 MB, in --timeout
                if answer.get("ETag"):
                    self._read_tags[key] = (answer["ETag"], raw)
                return raw
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
        self._answer("head_bucket")

    def exists(self, key: str) -> bool:
        """HEAD the key: True when S3 has a current object there (a lagging listing may not name it yet)."""
        try:
            self._answer("head_object", Key=key)
            return True
        except StoreError as exc:
            if exc.code in ("NoSuchKey", "404", "NotFound"):
                return False
            raise

    def versioning(self) -> Optional[str]:
        """The bucket's versioning: "Enabled", "Suspended", "" (never enabled); None when S3 will not say
        (no s3:GetBucketVersioning, or a store without the call)."""
        try:
            answer = self._answer("get_bucket_versioning")
        except StoreError:
            return None
        status = answer.get("Status")
        return status if status in ("Enabled", "Suspended") else ""

    def server_now(self):
        """S3's clock (the Date header of its last answer, moved on since), None when none was seen."""
        return self.listings.server_now()

    @property
    def strays(self) -> List[str]:
        """Keys a listing returned outside the prefix it asked for: the endpoint ignored `prefix`."""
        return list(self.listings.strays)

    # -- prefixes ---------------------------------------------------------------
    def list_objects(self, prefix: str) -> List[Dict]:
        """Every object under `prefix` (all pages, bounded): dicts with Key, LastModified, Size. Keys outside
        `prefix` are never returned (see `strays`)."""
        try:
            return store_listing.objects(self._call, prefix, self.listings)
        except store_listing.ListingError as exc:
            raise StoreError(str(exc), exc.code) from None

    def list_versions(self, prefix: str) -> List[Dict]:
        """Every object version and delete marker under `prefix` (see store_listing.versions)."""
        try:
            return store_listing.versions(self._call, prefix, self.listings)
        except store_listing.ListingError as exc:
            raise StoreError(str(exc), exc.code) from None

    def list_keys(self, prefix: str) -> List[str]:
        return [obj["Key"] for obj in self.list_objects(prefix)]

    def list_many(self, prefixes: Iterable[str]) -> Dict[str, List[str]]:
        """List several prefixes concurrently (one round trip, not one per prefix)."""
        return self._each(self.list_keys, prefixes)

    def list_many_versions(self, prefixes: Iterable[str]) -> Dict[str, List[Dict]]:
        return self._each(self.list_versions, prefixes)

    @staticmethod
    def _each(fn, prefixes: Iterable[str]) -> Dict:
        prefixes = list(prefixes)
        with ThreadPoolExecutor(max_workers=len(prefixes) or 1, thread_name_prefix=pool_thread_name()) as pool:
            return dict(zip(prefixes, pool.map(fn, prefixes)))
