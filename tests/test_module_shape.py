"""The package's shape: no function over seven parameters (self aside), and no import circle between its modules
(the floors of test_layering.py keep arrows from running back up; a circle inside one floor is caught here). A
long module is a reason to look, not a rule to split by: there is no cap on lines."""

import ast

import pytest
from helpers.layering import MODULES, imports

MAX_PARAMETERS = 7


def _parameters(fn) -> int:
    a = fn.args
    count = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
    return count - bool(a.args and a.args[0].arg in ("self", "cls"))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_function_takes_more_than_seven_parameters(name):
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    wide = [
        f"{fn.name} (line {fn.lineno}): {_parameters(fn)}"
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and _parameters(fn) > MAX_PARAMETERS
    ]
    assert wide == []


def _typing_only(name):
    """Lines of imports under `if TYPE_CHECKING:` (annotations only: never run, so never a circle)."""
    lines = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            lines |= {n.lineno for child in node.body for n in ast.walk(child) if hasattr(n, "lineno")}
    return lines


def test_no_import_circle():
    graph = {}
    for name in MODULES:
        skip = _typing_only(name)
        graph[name] = {
            target for target, line in imports(name) if target in MODULES and target != name and line not in skip
        }
    state, circles = {}, []

    def visit(name, path):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                circles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []
