"""The sandbox's shape: it imports nothing from the validator, and its rules know nothing of HTTP."""

import ast
from pathlib import Path

import pytest

SANDBOX = Path(__file__).resolve().parent.parent / "zorora_e2e_plugin" / "sandbox"
RULES_SIDE = ("state.py", "archive.py", "registry.py", "rules.py")  # moto's "models" half
HTTP_SIDE = {"api", "gateway", "moto_s3", "server", "wsgi", "http", "werkzeug", "moto", "requests", "urllib"}


def _imports(path: Path):
    """(level, module) of every import in the file, wherever it is (lazy and TYPE_CHECKING ones too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.level, node.module or ""


@pytest.mark.parametrize("path", sorted(SANDBOX.glob("*.py")), ids=lambda p: p.name)
def test_the_sandbox_imports_nothing_from_the_validator(path):
    outside = [
        f"{'.' * level}{module}"
        for level, module in _imports(path)
        if level > 1
        or (
            level == 0
            and module.split(".")[0] == "zorora_e2e_plugin"
            and not module.startswith("zorora_e2e_plugin.sandbox")
        )
    ]
    assert outside == []


@pytest.mark.parametrize("name", RULES_SIDE)
def test_the_rules_know_nothing_of_http(name):
    seen = {module.split(".")[0] for _level, module in _imports(SANDBOX / name)}
    assert seen & HTTP_SIDE == set()
