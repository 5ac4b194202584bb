"""The package's shape: layers that import downwards only, public engine functions only."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "ganlab"
LAYERS = {"core": 0, "tasks": 1, "lessons": 2, "ui": 3}  # a layer imports only lower numbers
GUI = ("ipywidgets", "matplotlib", "ipympl", "IPython", "PIL")
NAMEDTUPLE_API = {"_replace", "_fields", "_asdict", "_make"}
MODULES = sorted(PACKAGE.rglob("*.py"))


def imports(path: pathlib.Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def layer(path: pathlib.Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_only(path):
    own = layer(path)
    if own is None:
        return
    for name in imports(path):
        parts = name.split(".")
        if parts[0] == "ganlab" and len(parts) > 1 and parts[1] in LAYERS:
            assert LAYERS[parts[1]] < LAYERS[own] or parts[1] == own, (
                f"{path.name} ({own}) imports {name}")
        if own == "core":
            assert parts[0] not in GUI and name != "ganlab", f"core module imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    assert len(path.read_text().splitlines()) <= 420


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_underscore_name_of_another_object(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and node.attr not in NAMEDTUPLE_API
                and node.attr != "_cache_size"):  # jax's count of compiled versions
            assert isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"), (
                f"{path.name}:{node.lineno} uses {ast.unparse(node)}")
