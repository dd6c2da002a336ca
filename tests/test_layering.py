"""The house by its floors (docs/layout.md): each folder of the package is a floor, and a module imports only
from its own floor or the floors below, wherever the import is written (module level, inside a function, under
TYPE_CHECKING). Two rooms have stricter rules of their own: the plan imports no report and no rich, and the
runner (run/waves.py, run/step_worker.py) knows steps only as callables. The sandbox's own rules:
test_sandbox_layout.py."""

from fnmatch import fnmatch

import pytest
from helpers import layering
from helpers.layering import PACKAGE, VALIDATOR, imports, module_name

FLOORS = (  # bottom to top; "" is the package's top level (its doors)
    "sandbox",  # the local platform: imports nothing of the validator
    "core",  # plain records and pure rules
    "config",  # settings, flags, the faces' vocabulary
    "console",  # the terminal: who is there to ask, what it can show
    "wire",  # what every HTTP request of a run goes through
    "client",  # the ONA API
    "s3",  # S3
    "plan",  # the validation plan's phases and checks
    "history",  # the run history
    "metrics",  # a run's metrics: CloudWatch and the Embedded Metric Format
    "report",  # what people see and keep
    "run",  # one run, from settings to reports
    "repl",  # the REPL face
    "canary",  # the Lambda face: its handler and the CloudFormation template that deploys it
    "",  # the doors: the package, autoload, cli (version: core's floor, anyone may read it)
)
ON_ANOTHER_FLOOR = {"version": "core"}
NEVER = {  # what a room must not import although it stands above it (module patterns, or "~" a third-party top name)
    "plan.*": ("report", "report.*", "~rich"),
    "run.waves": ("plan", "plan.*", "report", "report.*", "s3", "s3.*", "client", "client.*", "~rich"),
    "run.step_worker": ("plan", "plan.*", "report", "report.*", "s3", "s3.*", "client", "client.*", "~rich"),
}


def floor_of(name: str) -> str:
    if name in ON_ANOTHER_FLOOR:
        return ON_ANOTHER_FLOOR[name]
    top = name.split(".")[0]
    return top if top in FLOORS and (PACKAGE / top).is_dir() else ""


def test_the_top_level_holds_the_doors_and_the_floors_only():
    """At most 8 modules at the top, no two of them sharing a prefix; every folder is a floor."""
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    prefixes = [stem.split("_")[0] for stem in top if stem != "__init__"]
    assert len(prefixes) == len(set(prefixes)), top
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert set(folders) <= set(FLOORS), folders


@pytest.mark.parametrize("name", VALIDATOR, ids=lambda n: n or "__init__")
def test_nothing_imports_upward(name):
    floor = FLOORS.index(floor_of(name))
    upward = [
        f"line {line}: {target or '(package root)'} ({floor_of(target) or 'the doors'})"
        for target, line in imports(name)
        if not target.startswith("~") and FLOORS.index(floor_of(target)) > floor
    ]
    assert upward == [], f"{name} ({floor_of(name) or 'the doors'}) imports from a higher floor"


@pytest.mark.parametrize("name", [n for n in VALIDATOR if any(fnmatch(n, room) for room in NEVER)])
def test_the_plan_and_the_runner_import_what_they_may(name):
    never = next(rule for room, rule in NEVER.items() if fnmatch(name, room))
    seen = [
        f"line {line}: {target.lstrip('~')}"
        for target, line in imports(name)
        if any(fnmatch(target, pattern) for pattern in never)
    ]
    assert seen == [], f"{name} must not import these"


def test_the_floors_are_read_from_every_kind_of_import(tmp_path, monkeypatch):
    """The reading itself: a lazy import, a relative one from a subpackage, `from . import x` and an absolute one
    are all seen; the package root's version is not an import of the root."""
    fake = tmp_path / "zorora_e2e_plugin"
    (fake / "plan").mkdir(parents=True)
    (fake / "run").mkdir()
    (fake / "__init__.py").write_text("__version__ = '0'\n")
    (fake / "run" / "__init__.py").write_text("")
    (fake / "run" / "waves.py").write_text("import rich\n\ndef f():\n    from ..plan import steps\n")
    (fake / "plan" / "__init__.py").write_text("")
    (fake / "plan" / "steps.py").write_text(
        "from ..run import waves\nfrom .. import __version__\nimport zorora_e2e_plugin.run\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", fake)  # floor_of's
    monkeypatch.setattr(layering, "PACKAGE", fake)  # module_name's and imports'
    monkeypatch.setattr(layering, "MODULES", {module_name(p): p for p in sorted(fake.rglob("*.py"))})
    assert sorted(imports("run.waves")) == [("plan.steps", 4), ("~rich", 1)]
    assert sorted(imports("plan.steps")) == [("run", 3), ("run.waves", 1)]
    assert floor_of("run.waves") == "run" and floor_of("") == ""
