"""Shared by the --metrics tests: a run against a sandbox with its metrics going to that sandbox's CloudWatch
(moto's, served on loopback), a client to read them back, and loopback servers that refuse to take them."""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import io
import json
import secrets
import socket
import threading

from zorora_e2e_plugin.config.flags import RunFlags
from zorora_e2e_plugin.config.settings import resolve
from zorora_e2e_plugin.report.console import make_console
from zorora_e2e_plugin.run.in_sandbox import sandbox_target
from zorora_e2e_plugin.run.options import RunOptions
from zorora_e2e_plugin.run.validate import validate


def reset_cloudwatch() -> None:
    """Forget every metric moto's CloudWatch holds (process-wide, as the in-process sandbox serves it): its
    GetMetricData with dimensions reads every namespace, so tests cannot keep apart by namespace alone."""
    from moto.backends import get_backend

    for account in get_backend("cloudwatch").values():
        for backend in account.values():
            backend.reset()


def fresh_namespace() -> str:
    return f"ZororaE2ETest{secrets.token_hex(4)}"


def run_with_metrics(
    sandbox, *, sinks=("cloudwatch",), faults=(), namespace=None, history=None, endpoint=True, **flags
):
    """(result, console text, settings): one run against `sandbox`, its metrics to the sandbox's CloudWatch."""
    sandbox.set_faults(list(faults))
    try:
        settings = resolve(
            RunFlags(client="direct", metrics=tuple(sinks), metrics_namespace=namespace, **flags),
            {},
            target=sandbox_target(sandbox),
        )
        if endpoint:
            settings = dataclasses.replace(
                settings, metrics=dataclasses.replace(settings.metrics, endpoint_url=sandbox.cloudwatch_endpoint_url)
            )
        out = io.StringIO()
        result = validate(
            settings,
            console=make_console(file=out, no_color=True),
            options=RunOptions(history_env={"ZORORA_E2E_HISTORY": str(history) if history else "0"}),
        )
    finally:
        sandbox.set_faults([])
    return result, out.getvalue(), settings


def cloudwatch(sandbox):
    import boto3

    return boto3.client(
        "cloudwatch",
        region_name=sandbox.region,
        endpoint_url=sandbox.cloudwatch_endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


def listed(client, namespace):
    """{(name, ((dimension, value), ...))} of every metric in the namespace."""
    out = set()
    for page in client.get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page["Metrics"]:
            out.add((metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]))))
    return out


def statistic(client, namespace, name, dimensions, stat, unit):
    """The statistic over the last hour for the metric with exactly these dimensions and this unit; None: no data.
    The dimensions are sent Target, Kind, then the others, as the run publishes them: moto's GetMetricData matches
    them in order (CloudWatch itself as a set)."""
    order = {"Target": 0, "Kind": 1}
    dimensions = dict(sorted(dimensions.items(), key=lambda item: order.get(item[0], 2)))
    now = datetime.datetime.now(datetime.timezone.utc)
    answer = client.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    },
                    "Period": 3600,
                    "Stat": stat,
                    "Unit": unit,
                },
            }
        ],
        StartTime=now - datetime.timedelta(minutes=30),
        EndTime=now + datetime.timedelta(minutes=30),
    )
    values = answer["MetricDataResults"][0]["Values"]
    return values[0] if values else None


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Refusing:
    """A real HTTP server on loopback that answers every request as CloudWatch answers a caller without permission:
    HTTP 403, AccessDenied, in the protocol the request came in (botocore picks JSON, CBOR or query itself)."""

    MESSAGE = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudwatch:PutMetricData"

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.path, self.headers.get("X-Amz-Target")))
                if "/operation/" in self.path:  # smithy RPC v2 CBOR
                    from moto.core import cbor

                    kind, body = "application/cbor", cbor.dumps({"__type": "AccessDenied", "message": outer.MESSAGE})
                elif self.headers.get("X-Amz-Target"):  # awsJson 1.0
                    kind, body = (
                        "application/x-amz-json-1.0",
                        json.dumps({"__type": "AccessDenied", "message": outer.MESSAGE}).encode(),
                    )
                else:  # query
                    kind, body = (
                        "text/xml",
                        (
                            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                            f"<Message>{outer.MESSAGE}</Message></Error></ErrorResponse>"
                        ).encode(),
                    )
                self.send_response(403)
                self.send_header("Content-Type", kind)
                self.send_header("smithy-protocol", "rpc-v2-cbor")
                self.send_header("x-amzn-query-error", "AccessDenied;Sender")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def history_line(path):
    return json.loads(path.read_text().splitlines()[-1])
