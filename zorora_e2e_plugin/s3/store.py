"""S3 as the validation sees it: JSON objects, prefixes to list, batched deletes, and the one error the S3 side
raises (`StoreError`: what failed, and S3's code).

- **The client.** botocore is imported here and only here, so that the REPL pays for it only when a run
  starts; the client is built once per settings and kept (the REPL's second run pays nothing).
- **Listing.** Bounded paging (a page that says IsTruncated without a way on, or a token that comes back, ends
  the listing with a StoreError instead of looping), every key checked against the prefix asked for (an
  endpoint that ignores `prefix` hands back other customers' keys: they are set aside as strays, never
  returned), object versions and delete markers, and S3's own clock (the Date header of its answers).
- **Deleting.** The one place that deletes from S3: every DeleteObject(s) the validator sends goes through
  `Deleting.delete` or `Deleting._delete`, which refuse any key outside the store's scope before anything is
  sent, whatever a listing said.
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..config.settings import Storage
from ..wire.limits import botocore_proxies, read_capped
from ..wire.watch import cap_s3_answers

if TYPE_CHECKING:  # botocore is imported when a client is built, not before
    import botocore.session
    from botocore.client import BaseClient
    from botocore.loaders import Loader

T = TypeVar("T")


class StoreError(Exception):
    """An S3 call failed; `code` is S3's error code (or the exception name)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


MAX_PAGES = 2000  # 2 million keys under one prefix: far beyond anything a run or a sweep lists


class ListingError(Exception):
    """A listing that cannot be completed (the Store turns it into a StoreError with its code)."""

    def __init__(self, message: str, code: str = "ListingIncomplete"):
        super().__init__(message)
        self.code = code


class Listings:
    """Bookkeeping shared by a Store's listings (thread-safe): strays and S3's clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.strays: list[str] = []  # keys a listing returned outside the prefix asked for (never used)
        self._date: datetime | None = None
        self._date_seen = 0.0

    def stray(self, key: str) -> None:
        with self._lock:
            if len(self.strays) < 1000 and key not in self.strays:
                self.strays.append(key)

    def saw(self, answer: dict) -> None:
        """Remember the Date header of an answer: S3's clock, not this machine's."""
        text = ((answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}).get("date")
        if not text:
            return
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        with self._lock:
            self._date, self._date_seen = moment, time.monotonic()

    def server_now(self) -> datetime | None:
        """S3's time now (its last Date header plus the time since), None before any answer carried one."""
        with self._lock:
            if self._date is None:
                return None
            return self._date + timedelta(seconds=time.monotonic() - self._date_seen)


def listing_pages(
    call: Callable[..., dict], method: str, first: dict, way_on: Callable[[dict], dict | None], seen: Listings
) -> Iterator[dict]:
    """The pages of one listing, at most MAX_PAGES. `way_on(page)`: the arguments of the next request (None:
    the page gave none)."""
    kwargs = dict(first)
    tokens = set()
    for _ in range(MAX_PAGES):
        page = call(method, **kwargs)
        seen.saw(page)
        yield page
        if not page.get("IsTruncated"):
            return
        more = way_on(page)
        if not more:
            raise ListingError(
                f"S3 said a {method} page was truncated but gave no continuation token: the listing "
                "cannot go on (an S3-compatible store with broken paging)",
                "TruncatedWithoutToken",
            )
        token = tuple(sorted((k, str(v)) for k, v in more.items()))
        if token in tokens:
            raise ListingError(
                f"S3 gave the same continuation token twice in {method}: the listing would never end",
                "RepeatedContinuationToken",
            )
        tokens.add(token)
        kwargs = {**first, **more}
    raise ListingError(f"{method} ended after {MAX_PAGES} pages without reaching the end of the prefix", "TooManyPages")


def listed_objects(call: Callable[..., dict], prefix: str, seen: Listings) -> list[dict]:
    """Every object under `prefix`: dicts with Key, LastModified, Size. Keys outside it are strays."""
    found: list[dict] = []

    def way_on(page: dict) -> dict | None:
        token = page.get("NextContinuationToken")
        return {"ContinuationToken": token} if token else None

    for page in listing_pages(call, "list_objects_v2", {"Prefix": prefix}, way_on, seen):
        for obj in page.get("Contents") or []:
            key = obj.get("Key")
            if isinstance(key, str) and key.startswith(prefix):
                found.append(obj)
            elif isinstance(key, str):
                seen.stray(key)
    return found


def listed_versions(call: Callable[..., dict], prefix: str, seen: Listings) -> list[dict]:
    """Every version and delete marker under `prefix`: dicts with Key, VersionId, LastModified, IsLatest and
    DeleteMarker (True for a marker). Keys outside the prefix are strays."""
    found: list[dict] = []

    def way_on(page: dict) -> dict | None:
        key, version = page.get("NextKeyMarker"), page.get("NextVersionIdMarker")
        if not key:
            return None
        return {"KeyMarker": key, **({"VersionIdMarker": version} if version else {})}

    for page in listing_pages(call, "list_object_versions", {"Prefix": prefix}, way_on, seen):
        for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
            for entry in page.get(kind) or []:
                key = entry.get("Key")
                if isinstance(key, str) and key.startswith(prefix):
                    found.append({**entry, "DeleteMarker": marker})
                elif isinstance(key, str):
                    seen.stray(key)
    return found


VERSION_REFUSALS = ("AccessDenied", "403", "MethodNotAllowed", "NotImplemented", "501", "405")
MAX_CONCURRENT_BATCHES = 10  # delete_objects calls in flight at once (the client's pool holds 16 connections)


_session_lock = threading.Lock()  # botocore sessions are not thread-safe; clients are
_sessions: dict[tuple, botocore.session.Session] = {}  # AWS_* environment -> botocore session
_clients: OrderedDict[tuple, BaseClient] = OrderedDict()  # (storage settings, AWS_* environment) -> S3 client
_CLIENT_CACHE = 8
_starting: set = set()  # keys a start_client thread is building now
_prewarm_started = False


def aws_profile() -> str:
    """The AWS profile botocore reads credentials from ("" for the default chain), as the environment names it."""
    return os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or ""


def _aws_env() -> tuple:
    """What, beyond the settings, decides which credentials and config a client gets (AWS_PROFILE, keys, config
    files, ...): a session and a client are reused only while these are unchanged."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def _botocore_session(env: tuple) -> botocore.session.Session:
    """One botocore session per AWS environment: a second client from it skips reloading the service models
    (~100 ms). botocore, not boto3: boto3 adds ~50-100 ms of imports (s3transfer, resources) the run never uses."""
    session = _sessions.get(env)
    if session is None:
        from .botocore_models import new_session  # s3's models found by name, not in a list of every service

        session = _sessions[env] = new_session()
    return session


def s3_models() -> Loader:
    """The botocore loader of this process's S3 clients (AWS_* environment as it is), for a sandbox started in
    this process to share (sandbox_run): S3's models are read and parsed once per process, not once a side."""
    with _session_lock:
        return _botocore_session(_aws_env()).get_component("data_loader")


def given_credentials(storage: Storage) -> dict[str, str | None]:
    """The AWS keys the settings name, as botocore's client arguments; none when they name no key pair
    (botocore's own chain then finds them: a profile, SSO, the instance's role)."""
    if not (storage.aws_access_key_id and storage.aws_secret_access_key):
        return {}
    return {
        "aws_access_key_id": storage.aws_access_key_id,
        "aws_secret_access_key": storage.aws_secret_access_key,
        "aws_session_token": storage.aws_session_token,
    }


def make_s3_client(settings: Storage) -> BaseClient:
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
        kwargs: dict[str, Any] = {"config": config, "region_name": settings.region}
        if settings.s3_endpoint_url:
            kwargs["endpoint_url"] = settings.s3_endpoint_url
        kwargs.update(given_credentials(settings))
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


def _build(settings: Storage, key: tuple) -> None:
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
        _botocore_session(_aws_env()).create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="warm-up",
            aws_secret_access_key="warm-up",
        )


def _in_background(fn: Callable[..., object], *args: Any, name: str) -> None:
    """Run fn(*args) in a daemon thread. botocore's import wraps one of its imports in warnings.catch_warnings(),
    which saves and restores the process's warning filters: a filter another thread adds meanwhile (requests
    silencing urllib3's SOCKS DependencyWarning while the engine imports it) can be lost and the warning then
    lands on stderr. That one warning is filtered here first, so the restore keeps it."""
    warnings.filterwarnings("ignore", message="SOCKS support in urllib3", module=r"urllib3\.contrib\.socks")
    threading.Thread(target=_quietly, args=(fn, *args), daemon=True, name=name).start()


def _quietly(fn: Callable[..., object], *args: Any) -> None:
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


class Store:
    """One bucket through one S3 client; every failure is a StoreError.

    `scope`: the only key prefixes this store may delete under (a run: its customer's three prefixes; a sweep:
    the test customers'). Every DeleteObject(s) goes through `_delete`, which drops any key outside the scope
    before anything is sent, whatever a listing said (`refused` keeps them). A store without a scope deletes
    nothing."""

    def __init__(self, client: BaseClient, bucket: str, scope: Sequence[str] = ()):
        self.client = client
        self.bucket = bucket
        self.scope: tuple[str, ...] = tuple(p for p in scope if p)
        self.listings = Listings()
        self.refused: list[str] = []  # keys a delete was asked for outside the scope: never sent
        self.last_error = ""  # the code S3 gave for the last delete it refused (AccessDenied ...)
        self._read_tags: dict[str, tuple[str, bytes]] = {}  # key -> (ETag, bytes) as last read

    @classmethod
    def open(cls, storage: Storage, scope: Sequence[str] = ()) -> Store:
        """The store for `storage`'s bucket, on the client kept for those settings (see make_s3_client)."""
        return cls(make_s3_client(storage), storage.bucket, scope)

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except Exception as exc:  # botocore raises many kinds; all become StoreError
            raise _describe(exc) from None

    def _answer(self, method: str, **kwargs: Any) -> dict[str, Any]:
        answer = self._call(method, **kwargs)
        self.listings.saw(answer)
        return answer

    # -- objects --------------------------------------------------------------
    def put_json(self, key: str, document: Any) -> None:
        self._call("put_object", Key=key, Body=json.dumps(document, indent=2).encode(), ContentType="application/json")

    def put_bytes(self, key: str, body: bytes, if_match: str = "", if_absent: bool = False) -> dict:
        """PutObject; its answer (ETag, VersionId). if_match: an ETag (S3 refuses the write, PreconditionFailed,
        when the object changed since); if_absent: `If-None-Match: *` (refused when an object exists)."""
        conditions = {"IfMatch": if_match} if if_match else {}
        if if_absent:
            conditions["IfNoneMatch"] = "*"
        return self._call("put_object", Key=key, Body=body, **conditions)

    def etag_of(self, key: str, body: bytes | None) -> str:
        """The ETag S3 gave with `body` when this store last read `key` ("" unless that read returned `body`)."""
        tag, read = self._read_tags.get(key, ("", None))
        return tag if body is not None and read == body else ""

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        found = self.get_dated(key)
        return None if found is None else found[0]

    def get_dated(self, key: str) -> tuple[bytes, datetime | None] | None:
        """The object's bytes and LastModified (S3's clock: its Date header is kept, see server_now), or None
        when it does not exist."""
        try:
            answer = self._answer("get_object", Key=key)
            seconds = getattr(getattr(getattr(self.client, "meta", None), "config", None), "read_timeout", None)
            try:
                raw = read_capped(answer["Body"], f"s3://{self.bucket}/{key}", seconds=seconds)  # 10 MB, in --timeout
                if answer.get("ETag"):
                    self._read_tags[key] = (answer["ETag"], raw)
                return raw, answer.get("LastModified")
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

    def get_json(self, key: str) -> tuple[dict | None, bytes | None]:
        """(parsed document, raw bytes); (None, None) when absent. Bad JSON raises StoreError."""
        raw = self.get_bytes(key)
        if raw is None:
            return None, None
        try:
            return json.loads(raw), raw
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser allows
            raise StoreError(f"{key} is not valid JSON: {exc}", "InvalidJSON") from None

    def head_bucket(self) -> None:
        self._answer("head_bucket")

    def exists(self, key: str) -> bool:
        """HEAD the key: True when S3 has a current object there (a lagging listing may not name it yet)."""
        return self.etag(key) is not None

    def etag(self, key: str) -> str | None:
        """HEAD the key: the ETag of its current object ("" when S3 gave none), None when there is none."""
        try:
            return str(self._answer("head_object", Key=key).get("ETag") or "")
        except StoreError as exc:
            if exc.code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def versioning(self) -> str | None:
        """The bucket's versioning: "Enabled", "Suspended", "" (never enabled); None when S3 will not say
        (no s3:GetBucketVersioning, or a store without the call)."""
        try:
            answer = self._answer("get_bucket_versioning")
        except StoreError:
            return None
        status = answer.get("Status")
        return status if status in ("Enabled", "Suspended") else ""

    def server_now(self) -> datetime | None:
        """S3's clock (the Date header of its last answer, moved on since), None when none was seen."""
        return self.listings.server_now()

    @property
    def strays(self) -> list[str]:
        """Keys a listing returned outside the prefix it asked for: the endpoint ignored `prefix`."""
        return list(self.listings.strays)

    # -- prefixes ---------------------------------------------------------------
    def list_objects(self, prefix: str) -> list[dict]:
        """Every object under `prefix` (all pages, bounded): dicts with Key, LastModified, Size. Keys outside
        `prefix` are never returned (see `strays`)."""
        try:
            return listed_objects(self._call, prefix, self.listings)
        except ListingError as exc:
            raise StoreError(str(exc), exc.code) from None

    def list_versions(self, prefix: str) -> list[dict]:
        """Every object version and delete marker under `prefix` (see listed_versions)."""
        try:
            return listed_versions(self._call, prefix, self.listings)
        except ListingError as exc:
            raise StoreError(str(exc), exc.code) from None

    def list_keys(self, prefix: str) -> list[str]:
        return [obj["Key"] for obj in self.list_objects(prefix)]

    def list_many(self, prefixes: Iterable[str]) -> dict[str, list[str]]:
        """List several prefixes concurrently (one round trip, not one per prefix)."""
        return self._each(self.list_keys, prefixes)

    def list_many_versions(self, prefixes: Iterable[str]) -> dict[str, list[dict]]:
        return self._each(self.list_versions, prefixes)

    @staticmethod
    def _each(fn: Callable[[str], T], prefixes: Iterable[str]) -> dict[str, T]:
        prefixes = list(prefixes)
        with ThreadPoolExecutor(max_workers=len(prefixes) or 1, thread_name_prefix=pool_thread_name()) as pool:
            return dict(zip(prefixes, pool.map(fn, prefixes)))

    # -- deleting: the one place ---------------------------------------------------
    def in_scope(self, key: str) -> bool:
        """Under one of the scope's prefixes, with no '.'/'..' path segment a gateway might resolve elsewhere."""
        if not isinstance(key, str) or not any(key.startswith(p) for p in self.scope):
            return False
        return not any(part in (".", "..") for part in key.split("/"))

    def delete(self, key: str) -> None:
        """One DeleteObject (the preflight's probe), under the same guard as every batch."""
        if not self.in_scope(key):
            self.refused.append(key)
            raise StoreError(f"{key} is outside the prefixes this run may delete under: not deleted", "OutOfScope")
        self._call("delete_object", Key=key)

    def delete_keys(self, keys: Iterable[str]) -> tuple[int, list[str]]:
        """Batched delete (see _delete). Returns (deleted count, keys that failed); keys outside the scope
        are neither (see `refused`)."""
        return self._delete([(key, None) for key in keys])

    def delete_versions(self, versions: Iterable[tuple[str, str | None]]) -> tuple[int, list[str]]:
        """Delete these (key, version id) pairs: versions and delete markers, for good."""
        return self._delete(list(versions))

    def _delete(self, entries: list[tuple[str, str | None]]) -> tuple[int, list[str]]:
        """The only code that sends DeleteObjects. Keys outside the scope are dropped here, before anything
        is sent. 1000 keys a call (S3's limit), the batches concurrently: one round trip for a run's cleanup
        and for a sweep of 10 000 objects alike. A refusal of the whole call (AccessDenied) counts every key
        of its batch as failed, with the code in `last_error`."""
        allowed = [(k, v) for k, v in entries if self.in_scope(k)]
        self.refused.extend(k for k, v in entries if not self.in_scope(k))
        batches = [allowed[start : start + 1000] for start in range(0, len(allowed), 1000)]

        def delete_batch(batch: list[tuple[str, str | None]]) -> list[str]:
            objects = [{"Key": k, **({"VersionId": v} if v else {})} for k, v in batch]
            if not all(self.in_scope(o["Key"]) for o in objects):  # the invariant, once more, at the wire
                raise StoreError("refusing to delete outside the run's prefixes", "OutOfScope")
            try:
                answer = self._call("delete_objects", Delete={"Objects": objects, "Quiet": True})
            except Exception as exc:  # a StoreError from _call
                if not batch[0][1] or getattr(exc, "code", "") not in VERSION_REFUSALS:
                    raise  # a refused version delete is a finding (what remains); anything else an S3 error
                self.last_error = str(getattr(exc, "code", ""))  # S3's code, one of VERSION_REFUSALS
                return [k for k, _v in batch]
            errors = answer.get("Errors") or []
            if errors:
                self.last_error = str(errors[0].get("Code") or "")
            return [e.get("Key") for e in errors]

        if len(batches) <= 1:
            results = [delete_batch(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(
                max_workers=min(len(batches), MAX_CONCURRENT_BATCHES),
                thread_name_prefix=threading.current_thread().name,
            ) as pool:  # the step's name
                results = list(pool.map(delete_batch, batches))
        failed = [key for errors in results for key in errors]
        return len(allowed) - len(failed), failed
