"""The package's modules by name and what each imports (read with `ast`): the floors of test_layering.py, the
shape of test_module_shape.py and the watch of test_watch.py read the same map."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "zorora_e2e_plugin"


ROOT_NAMES = {"__version__"}  # a name anyone may import from the package root, though the root is a door


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


VALIDATOR = sorted(name for name in MODULES if name.split(".")[0] != "sandbox")


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
                base = base[: len(base) - (node.level - 1)]
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
        return module[len("zorora_e2e_plugin.") :] if "." in module else ""
    return "~" + module.split(".")[0]
