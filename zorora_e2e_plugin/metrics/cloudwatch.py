"""The run's metrics sent to CloudWatch (`--metrics cloudwatch`): PutMetricData through a botocore client, and
read back (ListMetrics, GetMetricData) for a demo to show what it published.

The client is botocore's, from the same cheap session style as S3's (s3/botocore_models.py: CloudWatch's models
found by name), built only when metrics are published. The region is the run's; the endpoint is whatever boto3's
own configuration says (AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL, the config file), resolved by botocore
itself: only a sandbox of ours passes one. Credentials: the run's own keys when it has them, else boto3's chain.
One call carries at most 1000 metrics and stays under 1 MB (PutMetricData's limits): a run's ~20 are one call.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from collections.abc import Sequence

from ..config.metrics import MetricsSettings
from ..config.settings import Storage
from ..s3.store import given_credentials
from ..wire.limits import botocore_proxies
from .build import Datum

MAX_PER_CALL = 1000  # metrics in one PutMetricData request
MAX_CALL_BYTES = 900 * 1024  # well under the request's 1 MB, whatever the protocol's own overhead
TIMEOUT = 5.0  # seconds to connect, and to read an answer: publishing never holds a run's end for long


class MetricsError(Exception):
    """Publishing failed; the message is one line, saying what to check."""


_lock = threading.Lock()
_sessions: dict[tuple, object] = {}  # AWS_* environment -> botocore session (as s3/store.py keeps S3's)


def _botocore_session():
    """One botocore session per AWS environment (AWS_PROFILE, keys, endpoints): a REPL that changes them gets
    a session that sees the change; CloudWatch's models are found by name (s3/botocore_models.py)."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    with _lock:
        if env not in _sessions:
            from ..s3.botocore_models import new_session

            _sessions[env] = new_session()
        return _sessions[env]


def make_client(metrics: MetricsSettings, storage: Storage, timeout: float = TIMEOUT):
    """A CloudWatch client in the run's region. No endpoint is passed unless `metrics.endpoint_url` names one
    (a sandbox): botocore then reads AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL itself."""
    from botocore.config import Config

    def build(proxies):
        config = Config(
            region_name=storage.region,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            proxies=proxies,
        )
        kwargs = {"config": config, "region_name": storage.region}
        if metrics.endpoint_url:
            kwargs["endpoint_url"] = metrics.endpoint_url
        kwargs.update(given_credentials(storage))
        session = _botocore_session()
        with _lock:  # botocore sessions are not thread-safe; clients are
            return session.create_client("cloudwatch", **kwargs)

    client = build(botocore_proxies(metrics.endpoint_url))
    if not metrics.endpoint_url and botocore_proxies(client.meta.endpoint_url) == {}:
        client = build({})  # an endpoint on loopback from the environment: never through HTTP(S)_PROXY either
    return client


def metric_data(data: Sequence[Datum], timestamp: datetime.datetime) -> list[dict]:
    """PutMetricData's MetricData for `data`: Value for one value, Values for a distribution."""
    out = []
    for datum in data:
        entry: dict = {
            "MetricName": datum.name,
            "Unit": datum.unit,
            "Timestamp": timestamp,
            "StorageResolution": 60,
            "Dimensions": [{"Name": n, "Value": v} for n, v in datum.dimensions],
        }
        if len(datum.values) == 1:
            entry["Value"] = datum.values[0]
        else:
            entry["Values"] = list(datum.values)
        out.append(entry)
    return out


def batches(entries: list[dict], per_call: int = MAX_PER_CALL, max_bytes: int = MAX_CALL_BYTES) -> list[list[dict]]:
    """The entries in calls of at most `per_call` metrics and about `max_bytes` each, in order."""
    calls: list[list[dict]] = []
    size = 0
    for entry in entries:
        weight = len(json.dumps(entry, default=str)) + 64
        if not calls or len(calls[-1]) >= per_call or size + weight > max_bytes:
            calls.append([])
            size = 0
        calls[-1].append(entry)
        size += weight
    return calls


def publish(
    data: Sequence[Datum],
    metrics: MetricsSettings,
    storage: Storage,
    timestamp: datetime.datetime | None = None,
    client=None,
) -> tuple[int, int]:
    """Send `data` to CloudWatch. (metrics sent, calls made); MetricsError (one line) when it could not."""
    from botocore.exceptions import BotoCoreError, ClientError

    when = timestamp or datetime.datetime.now(datetime.timezone.utc)
    calls = 0
    try:
        client = client or make_client(metrics, storage)
        for batch in batches(metric_data(data, when)):
            client.put_metric_data(Namespace=metrics.namespace, MetricData=batch)
            calls += 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "error")
        what = f"{code}: {error.get('Message')}" if error.get("Message") else code
        raise MetricsError(
            f"CloudWatch refused PutMetricData ({_one_line(what)}): check that your AWS "
            f"credentials allow cloudwatch:PutMetricData for namespace {metrics.namespace} "
            f"in {storage.region}"
        ) from None
    except (BotoCoreError, OSError) as exc:
        raise MetricsError(
            f"CloudWatch could not be reached ({_one_line(f'{type(exc).__name__}: {exc}')}): check "
            "the network, the region and AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL"
        ) from None
    except ValueError as exc:  # an endpoint that is not CloudWatch answered (a proxy's page, another service)
        raise MetricsError(
            f"the CloudWatch endpoint's answer is not CloudWatch's ({type(exc).__name__}): check "
            "AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL"
        ) from None
    return len(data), calls


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


STATS = ("Minimum", "Maximum", "Sum", "SampleCount")


def read_back(client, namespace: str, since: datetime.datetime, until: datetime.datetime) -> list[dict]:
    """What CloudWatch holds in `namespace` from `since` up to `until`: each metric (ListMetrics) with its
    dimensions, and its unit and statistics (GetMetricData: one query per statistic, for each unit the run uses).
    Rows: {name, dimensions: {..}, unit, Minimum, Maximum, Sum, SampleCount}; metrics without data there are
    left out."""
    metrics: dict[tuple, dict] = {}  # one entry per metric: a listing may name one more than once
    for page in client.get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page.get("Metrics", []):
            key = (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))))
            metrics.setdefault(key, metric)
    period = max(60, -(-int((until - since).total_seconds()) // 60) * 60)
    rows = []
    for _key, metric in sorted(metrics.items()):
        for unit in ("Count", "Milliseconds"):
            queries = [
                {"Id": f"q{i}", "MetricStat": {"Metric": metric, "Period": period, "Stat": stat, "Unit": unit}}
                for i, stat in enumerate(STATS)
            ]
            answer = client.get_metric_data(MetricDataQueries=queries, StartTime=since, EndTime=until)
            found = {STATS[int(r["Id"][1:])]: r.get("Values") or [] for r in answer.get("MetricDataResults", [])}
            if not any(found.values()):
                continue
            row = {
                "name": metric["MetricName"],
                "unit": unit,
                "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
            }
            for stat, combine in (("Minimum", min), ("Maximum", max), ("Sum", sum), ("SampleCount", sum)):
                row[stat] = combine(found[stat]) if found.get(stat) else None
            rows.append(row)
            break
    return rows


__all__ = ["MAX_PER_CALL", "MetricsError", "batches", "make_client", "metric_data", "publish", "read_back"]
