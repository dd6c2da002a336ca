"""`--metrics`: the run's metrics, once it is over (its verdict given, its reports written, its history line
appended): printed as Embedded Metric Format lines on stdout (emf), and sent to CloudWatch as one PutMetricData
batch (cloudwatch). A sandbox run then reads back what its sandbox's CloudWatch holds and shows it.

A run that was interrupted or cancelled proves nothing about the target: nothing is published for it (an alarm on
Passed must not fire because someone pressed Ctrl-C). Whatever happens while publishing is one line on the
console: the verdict and the exit code never change.
"""

from __future__ import annotations

import datetime
import sys
from typing import TYPE_CHECKING, Callable

from ..core.outcomes import CANCELLED, INTERRUPTED
from ..metrics.build import kind_of, run_metrics, target_of

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from ..core.outcomes import RunResult
    from ..history.record import RequestTimer
    from ..metrics.build import Datum
    from .execution import Run


def latencies_of(timer: RequestTimer) -> dict[str, list[float]]:
    """Milliseconds of each answered API request, by route (history.record.RequestTimer's samples)."""
    by_route: dict[str, list[float]] = {}
    for route, _started, seconds in list(timer.samples):
        by_route.setdefault(route, []).append(round(seconds * 1000, 3))
    return by_route


def metrics_of(run: Run, result: RunResult) -> list[Datum]:
    s = run.settings
    try:
        retries = sum(int(n) for n in run.watch.retries_by_route().values())
    except Exception:
        retries = 0
    readiness = s.readiness_for is not None
    return run_metrics(
        result,
        target=target_of(s.base_url, s.sandbox),
        kind=kind_of(s.phases, readiness),
        latencies=latencies_of(run.recorder.timer),
        retries=retries,
        cold_start=run.recorder.cold is not None,
        customer=s.readiness_for.customer_id if s.readiness_for is not None else None,
    )


def publish_metrics(run: Run, result: RunResult, say: Callable[[str], None]) -> None:
    """Publish the run's metrics where --metrics says; `say(line)`: the run's notices. Never raises."""
    s, metrics = run.settings, run.settings.metrics
    if metrics is None:  # no --metrics (the run calls this only with them)
        return
    if result.verdict in (INTERRUPTED, CANCELLED):
        say(f"metrics: none published (the run was {result.verdict}: it proves nothing about the target)")
        return
    try:
        data = metrics_of(run, result)
    except Exception as exc:
        say(f"warning: metrics not published ({type(exc).__name__}: {exc})")
        return
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if metrics.emf:
        from ..metrics.emf import lines

        try:
            sys.stdout.write(
                "".join(line + "\n" for line in lines(data, metrics.namespace, int(now.timestamp() * 1000)))
            )
            sys.stdout.flush()
        except (OSError, ValueError):  # stdout went away: nothing to print on
            pass
    if not metrics.cloudwatch:
        return
    from ..metrics.cloudwatch import MetricsError, make_client, publish

    where = f"namespace {metrics.namespace}, {s.region}" + (", the sandbox's CloudWatch" if s.sandbox else "")
    try:
        client = make_client(metrics, s.storage)
        count, calls = publish(data, metrics, s.storage, timestamp=now, client=client)
    except MetricsError as exc:
        say(f"warning: metrics not published: {exc}; the verdict stands")
        return
    say(f"metrics: {count} published to CloudWatch in {calls} PutMetricData call{'s' if calls != 1 else ''} ({where})")
    if s.sandbox:
        show_published(run, client, metrics.namespace, now, say)


def show_published(
    run: Run, client: BaseClient, namespace: str, when: datetime.datetime, say: Callable[[str], None]
) -> None:
    """A sandbox run: what the sandbox's CloudWatch now holds for this run, read back (ListMetrics and
    GetMetricData), as a table on the run's console."""
    from ..metrics.cloudwatch import read_back

    try:
        rows = read_back(client, namespace, when, when + datetime.timedelta(seconds=1))
    except Exception as exc:
        say(f"warning: the sandbox's CloudWatch could not be read back ({type(exc).__name__}: {exc})")
        return
    from ..report.metrics_view import published_table

    try:
        run.console.print(published_table(rows, namespace))
    except (OSError, ValueError):
        pass


__all__ = ["latencies_of", "metrics_of", "publish_metrics", "show_published"]
