"""The validator's floors (docs/layout.md): every module stands on one floor and imports only from its own floor
or below, wherever the import is written (module level, inside a function, under TYPE_CHECKING). The runner
knows steps as callables: it imports no plan, report, rich, store or client; the plan imports no report and no
rich. (The sandbox has its own rules: test_sandbox_layout.py.)

A new module finds its floor in FLOORS_OF (exact names) or else in PATTERNS (the first that matches); one that
matches neither fails `test_every_module_stands_on_a_floor` until it is given one here."""

import ast
from fnmatch import fnmatch
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "zorora_e2e_plugin"

# bottom to top
FLOORS = ("base", "settings", "wire", "plan", "runner", "reporters", "engine", "faces")

FLOORS_OF = {
    # base: plain records and pure rules, the terminal probe; importable by anyone
    "results": "base", "model": "base", "verdict": "base", "diagnose": "base", "diagnosis": "base",
    "durations": "base", "redact": "base", "fixtures": "base", "s3_state": "base", "inflight": "base",
    "mutations": "base", "console_encoding": "base", "terminal": "base", "confirm": "base",
    "history_file": "base", "readiness_gates": "base", "run_signals": "base", "collection": "base", "version": "base",
    "client.answers": "base", "client.errors": "base",  # pure: who answered, what kind of failure (diagnose reads them)
    # settings: flags > env > defaults
    "settings": "settings", "settings_checks": "settings", "ssm": "settings", "readiness_target": "settings",
    "flags": "settings",  # the typed flags (RunFlags, SweepFlags) and the parsers that fill them
    "face": "base",  # each face's vocabulary and what it decides instead of the flags (Target): plain records
    # wire: the ONA API (client/) and S3 (store*), what guards them, and the sweep built on the store
    "store": "wire", "store_delete": "wire", "store_listing": "wire", "wire_guard": "wire", "sweep": "wire",
    "botocore_loader": "wire",
    # runner: waves, gate, deadline, signals; steps are callables to it
    "runner": "runner", "step_worker": "runner",
    # reporters: everything that watches a run and shows or records it
    "report": "reporters", "report_summary": "reporters", "report_files": "reporters", "live": "reporters",
    "relays": "reporters", "state_views": "reporters", "walkthrough": "reporters", "readiness_view": "reporters",
    "readiness_history": "reporters", "history": "reporters", "history_view": "reporters",
    # engine: settings -> plan -> runner -> results -> reporters, and the cleanup after it
    "engine": "engine", "cleanup": "engine",
    # faces: the command line and the REPL command
    "": "faces", "cli": "faces", "repl_command": "faces", "repl_run": "faces",
    "autoload": "faces",
}

# modules not in the table, by name (fnmatch on the dotted name inside the package); first match wins
PATTERNS = (
    ("sandbox", "base"), ("sandbox.*", "base"),  # imports nothing from the validator (test_sandbox_layout.py)
    ("client", "wire"), ("client.*", "wire"), ("store_*", "wire"), ("s3_*", "wire"),  # S3 requests
    ("plan", "plan"), ("plan.*", "plan"),
    ("artifacts", "reporters"), ("artifacts.*", "reporters"), ("report_*", "reporters"),
    ("run", "engine"), ("run_*", "engine"), ("sandbox_*", "engine"),  # the run object, validate_in_sandbox
    ("repl_*", "faces"),
)

# what a floor must not import even though it stands above it (module names, or a third-party top name)
NEVER = {
    "runner": ("plan", "plan.*", "report", "report_*", "store", "store_*", "client", "client.*", "rich"),
    "plan": ("report", "report_*", "rich"),
}

# a name anyone may import from the package root (its version), though the root is a face (it registers)
ROOT_NAMES = {"__version__"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
VALIDATOR = sorted(name for name in MODULES if not fnmatch(name, "sandbox") and not fnmatch(name, "sandbox.*"))


def floor_of(name: str):
    if name in FLOORS_OF:
        return FLOORS_OF[name]
    return next((floor for pattern, floor in PATTERNS if fnmatch(name, pattern)), None)


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def imports(name: str):
    """(what, line): each module of the package it imports ("" is the package root), and the top name of each
    other import (rich, requests, ...) prefixed with "~"."""
    path = MODULES[name]
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _inside(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".") if here else []
                base = base[:len(base) - (node.level - 1)]
                target = _join(*base, node.module or "")
            else:
                target = _inside(node.module or "")
                if target.startswith("~"):
                    yield target, node.lineno
                    continue
            for alias in node.names:
                sub = _join(target, alias.name)
                if sub in MODULES:
                    yield sub, node.lineno
                elif not (target == "" and alias.name in ROOT_NAMES):
                    yield target, node.lineno


def _inside(module: str) -> str:
    """An absolute import: its module inside the package, or "~" and its top name."""
    if module == "zorora_e2e_plugin" or module.startswith("zorora_e2e_plugin."):
        return module[len("zorora_e2e_plugin."):] if "." in module else ""
    return "~" + module.split(".")[0]


def test_every_module_stands_on_a_floor():
    assert [name or "(the package root)" for name in VALIDATOR if floor_of(name) is None] == []


@pytest.mark.parametrize("name", VALIDATOR, ids=lambda n: n or "__init__")
def test_nothing_imports_upward(name):
    floor = FLOORS.index(floor_of(name))
    upward = [f"line {line}: {target or '(package root)'} ({floor_of(target)})"
              for target, line in imports(name)
              if not target.startswith("~") and floor_of(target) is not None
              and FLOORS.index(floor_of(target)) > floor]
    assert upward == [], f"{name} ({floor_of(name)}) imports from a higher floor"


@pytest.mark.parametrize("name", [n for n in VALIDATOR if floor_of(n) in NEVER], ids=lambda n: n or "__init__")
def test_the_runner_and_the_plan_import_what_they_may(name):
    never = NEVER[floor_of(name)]
    seen = [f"line {line}: {target.lstrip('~')}" for target, line in imports(name)
            if any(fnmatch(target.lstrip("~"), pattern) for pattern in never)]
    assert seen == [], f"{name} ({floor_of(name)}) must not import these"


def test_the_floors_are_read_from_every_kind_of_import(tmp_path, monkeypatch):
    """The reading itself: a lazy import, a relative one from a subpackage, `from . import x` and an absolute one
    are all seen; the package root's version is not an import of the root."""
    fake = tmp_path / "zorora_e2e_plugin"
    (fake / "plan").mkdir(parents=True)
    (fake / "__init__.py").write_text("__version__ = '0'\n")
    (fake / "report.py").write_text("")
    (fake / "runner.py").write_text("import rich\n\ndef f():\n    from .plan import steps\n")
    (fake / "plan" / "__init__.py").write_text("")
    (fake / "plan" / "steps.py").write_text("from .. import report, __version__\n"
                                            "import zorora_e2e_plugin.runner\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    monkeypatch.setitem(globals(), "MODULES", {_name(p): p for p in sorted(fake.rglob("*.py"))})
    assert sorted(imports("runner")) == [("plan.steps", 4), ("~rich", 1)]
    assert sorted(imports("plan.steps")) == [("report", 1), ("runner", 2)]
