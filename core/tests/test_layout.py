"""The project's import layout, read from the source with ``ast`` so it cannot rot unnoticed.

``config`` holds settings, URLs, WSGI/ASGI and the Celery app and imports no app but ``core``
(URLconfs of apps are included by dotted string); ``core`` is imported by the apps and imports
none of them; ``shop`` knows nothing of ``recommendations``; and no modules import each other
in a circle when they load.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("shop", "recommendations", "experiments")
PACKAGES = ("config", "core", *APPS)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(package: str, *, tests: bool = True) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    return [path for path in files if tests or "tests" not in path.relative_to(ROOT).parts]


def imported_names(tree: ast.AST, module: str, *, is_package: bool, top_level_only: bool = False) -> set[str]:
    """Return the dotted names a module imports (``from a import b`` gives ``a`` and ``a.b``)."""
    nodes = tree.body if top_level_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module
            names.add(parent)
            names.update(f"{parent}.{alias.name}" for alias in node.names)
    return names


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return imported_names(tree, module_name(path), is_package=path.name == "__init__.py", top_level_only=top_level_only)


def offenders(package: str, forbidden: tuple[str, ...], *, tests: bool = True) -> list[str]:
    found = []
    for path in source_files(package, tests=tests):
        names = imports_of(path)
        for name in sorted(names):
            if name.split(".")[0] in forbidden and name.rpartition(".")[0] not in names:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_config_imports_no_app():
    assert offenders("config", APPS) == []


def test_core_code_imports_no_app():
    assert offenders("core", APPS, tests=False) == []


def test_shop_imports_nothing_from_recommendations():
    assert offenders("shop", ("recommendations",)) == []


def import_graph() -> dict[str, set[str]]:
    """Map each project module to the project modules it imports when it loads (function bodies excluded)."""
    paths = {module_name(path): path for package in PACKAGES for path in source_files(package)}
    graph = {}
    for module, path in paths.items():
        targets = set()
        for name in imports_of(path, top_level_only=True):
            parts = name.split(".")
            # importing a.b.c loads a and a.b first
            targets.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in paths)
        # a module's own packages are loaded before it, whatever it imports from them
        ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        graph[module] = targets - ancestors - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one circle of imports, or [] (depth-first search with colours)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_no_modules_import_each_other_in_a_circle():
    assert find_cycle(import_graph()) == []


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}, ["b", "b2", "b"]),
    ],
)
def test_find_cycle_finds_a_circle_when_there_is_one(graph, cycle):
    assert find_cycle(graph) == cycle


def test_relative_and_aliased_imports_are_resolved():
    tree = ast.parse("from . import views\nfrom ..models import Product\nimport shop.selectors as s\n")

    names = imported_names(tree, "shop.api.urls", is_package=False)

    assert {"shop.api.views", "shop.models.Product", "shop.selectors"} <= names


MAX_MODULE_LINES = 400


def test_no_recommendations_module_outgrows_a_single_reading():
    """Issue 10's bar: a serving or training module a newcomer reads in one sitting (tests and migrations aside)."""
    long_modules = {
        str(path.relative_to(ROOT)): lines
        for path in source_files("recommendations", tests=False)
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long_modules == {}
