"""What a sandbox run's `--metrics cloudwatch` published, as read back from the sandbox's CloudWatch: one row per
metric and dimension, with its unit and what CloudWatch holds (one value: that value; a distribution, such as a
route's request times: how many, the lowest and highest, and their sum). The dimensions every metric carries
(Target, Kind) are said once, under the table."""

from __future__ import annotations

COMMON = ("Target", "Kind")


def _number(value) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def value_text(row: dict) -> str:
    count = row.get("SampleCount") or 0
    if count > 1:
        low, high = _number(row.get("Minimum")), _number(row.get("Maximum"))
        return f"{_number(count)} values, {low}-{high}, sum {_number(row.get('Sum'))}"
    return _number(row.get("Sum"))


def published_table(rows: list[dict], namespace: str):
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(
            f"Read back from the sandbox's CloudWatch, namespace {namespace} "
            f"({len(rows)} metric{'s' if len(rows) != 1 else ''}):"
        ),
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        box=None,
        header_style="dim",
    )
    for column in ("metric", "dimension", "unit", "value"):
        table.add_column(column, overflow="fold")
    common: dict[str, object] = {}
    for row in rows:
        dims = dict(row["dimensions"])
        for name in COMMON:
            common.setdefault(name, dims.get(name))
        extra = ", ".join(f"{k}={v}" for k, v in dims.items() if k not in COMMON)
        table.add_row(row["name"], extra or "-", row["unit"], value_text(row))
    if common:
        table.caption = Text("each with " + ", ".join(f"{k}={v}" for k, v in common.items()), style="dim")
        table.caption_justify = "left"
    return table


__all__ = ["published_table", "value_text"]
