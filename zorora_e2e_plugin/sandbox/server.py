"""Start and stop the sandbox's running parts: four loopback listeners, the moto S3 app and the Lambda.

    api          gateway.py   API Gateway in front of ``api.Api`` (faults, request log, read timeout)
    s3-public    moto_s3.py   moto for clients: request log, latency; can be made unreachable
    s3-internal  moto_s3.py   moto for the sandbox's Lambda: no faults
    cloudwatch   moto_cloudwatch.py   moto's CloudWatch, for a run's --metrics cloudwatch: request log

``Servers`` also holds the request-time fault state both fronts share (delays that stop() interrupts,
the seeded flaky-503 dice, the pending cold start). Listener plumbing is in wsgi.py.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

from .api import Api, ApiConfig
from .gateway import HTML_PAGE, HUGE_BODY_SIZE, ApiGateway, _ApiRequestHandler, build_event, route_of
from .moto_s3 import MotoS3, PublicS3, SerializedWrites, _botocore_session, _S3RequestHandler, _session_lock
from .s3_faults import S3Faults
from .wsgi import Listener

if TYPE_CHECKING:  # pragma: no cover
    from . import Sandbox

__all__ = [
    "HTML_PAGE",
    "HUGE_BODY_SIZE",
    "ApiGateway",
    "Listener",
    "PublicS3",
    "SerializedWrites",
    "MotoS3",
    "Servers",
    "build_event",
    "route_of",
]


class Servers:
    """The running parts of a Sandbox: three listeners, the moto app and the Lambda."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._cold_pending = True
        self._rng = random.Random(sandbox.seed)
        self.internal: Listener | None = None
        self.public_s3: Listener | None = None
        self.api_listener: Listener | None = None
        self.cloudwatch: Listener | None = None
        self.api: Api | None = None
        self.s3: Any = None

    # ---- faults at request time

    def delay(self, ms: float) -> None:
        if ms > 0:
            self._stopping.wait(ms / 1000.0)

    def flaky_hit(self, pct: float) -> bool:
        if pct <= 0:
            return False
        with self._lock:
            return self._rng.random() * 100.0 < pct

    def cold_start(self, ms: float) -> None:
        with self._lock:
            pending, self._cold_pending = self._cold_pending, False
        if pending:
            self.delay(ms)

    def hang(self, route: str | None) -> None:
        """The hang fault: hold the request until the sandbox stops (or the fault is removed)."""
        while not self._stopping.wait(0.05):
            if not self.sandbox._faults.hits("hang", route):
                return

    def faults_changed(self) -> None:
        with self._lock:
            self._cold_pending = True
        if self.api is not None:
            self.api.config.faults = self.sandbox._faults

    # ---- lifecycle

    def start(self) -> None:
        sb = self.sandbox
        try:
            moto_app = SerializedWrites(MotoS3())
            self.internal = Listener("s3-internal", sb.host, 0, moto_app, _S3RequestHandler)
            self.internal.start()
            self.s3 = self.make_client(self.internal.url)
            self._create_bucket()
            config = ApiConfig(bucket=sb.bucket, token=sb.token, use_bearer_auth=True, faults=sb._faults, s3=self.s3)
            self.api = Api(config)
            public = PublicS3(
                self, S3Faults(lambda: sb._faults, moto_app, credentials=(sb.access_key_id, sb.secret_access_key))
            )
            self.public_s3 = Listener("s3-public", sb.host, 0, public, _S3RequestHandler)
            self.public_s3.start()
            self.api_listener = Listener(
                "api", sb.host, sb.port, ApiGateway(self, self.api), _ApiRequestHandler, read_timeout=sb.read_timeout
            )
            self.api_listener.start()
            from .moto_cloudwatch import MotoCloudWatch, RecordedCloudWatch

            self.cloudwatch = Listener(
                "cloudwatch", sb.host, 0, RecordedCloudWatch(self, MotoCloudWatch()), _S3RequestHandler
            )
            self.cloudwatch.start()
        except BaseException:
            self.stop()
            raise

    def make_client(self, endpoint_url: str) -> Any:
        from botocore.config import Config

        # proxies={}: the sandbox's own S3 traffic stays on this machine, whatever HTTP(S)_PROXY says
        config = Config(
            s3={"addressing_style": "path"},
            max_pool_connections=50,
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
            proxies={},
        )
        with _session_lock:
            return _botocore_session(self.sandbox.s3_models).create_client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=self.sandbox.region,
                config=config,
                aws_access_key_id=self.sandbox.access_key_id,
                aws_secret_access_key=self.sandbox.secret_access_key,
            )

    def _create_bucket(self) -> None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.sandbox.bucket}
        if self.sandbox.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.sandbox.region}
        try:
            self.s3.create_bucket(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if self.sandbox.versioned:
            self.s3.put_bucket_versioning(Bucket=self.sandbox.bucket, VersioningConfiguration={"Status": "Enabled"})

    def make_unreachable(self, which: str) -> None:
        if which == "s3":
            listener = self.public_s3
        elif which == "api":
            listener = self.api_listener
        else:
            raise ValueError(f"make_unreachable: expected 's3' or 'api', got {which!r}")
        if listener is not None:
            listener.stop()

    def stop(self) -> None:
        self._stopping.set()  # interrupts latency / cold-start sleeps
        for listener in (self.api_listener, self.public_s3, self.internal, self.cloudwatch):
            if listener is not None:
                listener.stop()
        if self.s3 is not None:
            try:
                self.s3.close()
            except Exception:
                pass
