"""The README a newcomer reads, rendered as CommonMark (markdown-it-py, which comes with rich): every fence
closes (an unclosed one turns the rest of the page into one code block), every link to a file in the
repository points at a file that exists, the user's path comes first, one configuration table names every
flag of both faces (and where each works), and the Testing section's command is what .ci/run runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from zorora_e2e_plugin.cli import build_parser
from zorora_e2e_plugin.config.flags import session_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*$")


def tokens(path: Path):
    return MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))


def unclosed_fences(path: Path):
    """Line numbers of fences that do not close where they were meant to: one running to the end of the page,
    or one whose content holds a would-be closing fence with text after it ("``` more text" does not close a
    fence in CommonMark: the block goes on to the next bare fence, swallowing the headings in between)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = []
    for token in tokens(path):
        if token.type == "fence":
            last = lines[token.map[1] - 1] if token.map[1] - 1 < len(lines) else ""
            closed = token.map[1] - token.map[0] >= 2 and FENCE.match(last) and last.strip().startswith(token.markup)
            glued = any(
                line.lstrip().startswith(token.markup) and line.strip() != token.markup
                for line in token.content.splitlines()
            )
            if not closed or glued:
                bad.append(token.map[0] + 1)
    return bad


def local_links(path: Path):
    out = []
    for token in tokens(path):
        for child in token.children or []:
            if child.type == "link_open":
                href = child.attrGet("href") or ""
                if not re.match(r"^[a-z]+:|^#", href):
                    out.append(href.split("#", 1)[0])
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_fence_closes(page):
    assert unclosed_fences(page) == [], f"{page.name}: fence opened on line(s) {unclosed_fences(page)} never closes"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_local_link_points_at_a_file(page):
    missing = [href for href in local_links(page) if not (page.parent / href).exists()]
    assert missing == [], f"{page.name} links to missing files: {missing}"


def test_the_checks_catch_what_they_are_for(tmp_path):
    broken = tmp_path / "b.md"
    broken.write_text("# t\n\n```bash\nx\n``` text after\n\n## Later\n\n[a](nowhere.md)\n", encoding="utf-8")
    assert unclosed_fences(broken) == [3]
    assert local_links(broken) == []  # inside the unclosed block: not even a link
    broken.write_text("# t\n\n```bash\nx\n``` text after\n\n## Later\n\n```\n\nmore\n", encoding="utf-8")
    assert unclosed_fences(broken) == [3]  # closed at last, by the next bare fence: "## Later" was code
    broken.write_text("# t\n\n```\nx\n```\n\n[a](nowhere.md) [b](#anchor) [c](https://x.org)\n", encoding="utf-8")
    assert unclosed_fences(broken) == [] and local_links(broken) == ["nowhere.md"]


def headings(path: Path):
    toks = tokens(path)
    return [toks[i + 1].content for i, t in enumerate(toks) if t.type == "heading_open" and t.tag == "h2"]


def test_the_user_path_comes_first():
    order = headings(ROOT / "README.md")
    first = ["Quickstart", "Use it from Zorora"]
    assert order[:2] == first, order
    assert order.index("Configuration") < order.index("Testing") < order.index("For maintainers"), order
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quickstart, re.S).group(1).strip().splitlines()
    assert block == ['pip install ".[sandbox]"', "zorora-e2e demo"]
    zorora = text.split("## Use it from Zorora", 1)[1].split("\n## ", 1)[0]
    for word in (
        "ONA_API_BASE_URL",
        "ONA_API_TOKEN",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "python main.py",
        "ml-validate-e2e",
    ):
        assert word in zorora, word
    assert len(text.splitlines()) < 300
    assert text.count("Proceed? [y/N]") == 1  # the ask-before-writing rule, explained once


def configuration_rows():
    toks = tokens(ROOT / "README.md")
    start = next(i for i, t in enumerate(toks) if t.type == "inline" and t.content == "Configuration")
    rows, row = [], None
    for t in toks[start:]:
        if t.type == "table_close":
            break
        if t.type == "tr_open":
            row = []
        elif t.type == "inline" and row is not None:
            row.append(t.content)
        elif t.type == "tr_close":
            rows.append(row)
            row = None
    assert rows[0][:2] == ["flag", "where"], rows[0]
    return rows[1:]


def faces():
    parser = build_parser()
    out = {name: sub for name, sub in parser._subparsers._group_actions[0].choices.items()}
    out["REPL"] = session_parser(lambda *a: None, prog="ml-validate-e2e", width=100)
    return out


def test_one_configuration_table_names_every_flag_of_both_faces():
    rows = configuration_rows()
    missing = []
    for face, parser in faces().items():
        for action in parser._actions:
            for option in action.option_strings:
                if option in ("-h", "--help") or (
                    option.startswith("-") and not option.startswith("--") and option != "-n"
                ):
                    continue
                row = next((r for r in rows if re.search(rf"`{re.escape(option)}\b", r[0])), None)
                if row is None or not re.search(rf"\b{face}\b", row[1]):
                    missing.append(f"{option} ({face})")
    assert missing == [], "not in the configuration table (or its 'where' column): " + ", ".join(missing)
    assert any("--version" in r[0] for r in rows)


def test_the_testing_command_is_what_ci_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    testing = text.split("## Testing", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", testing, re.S).group(1).strip().splitlines()
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert commands == ['pip install -e ".[dev]"', "python -m pytest"]
    assert all(command in ci for command in commands), ci
    # the maintainer's loop (issue 32): the linters and the type check, then the README's test command, last
    loop = ["ruff check .", "ruff format --check .", "mypy", "python -m pytest"]
    assert [line for line in ci if line in loop] == loop and ci[-1] == "python -m pytest", ci
    assert ci.index('pip install -e ".[dev]"') < ci.index("ruff check ."), ci
