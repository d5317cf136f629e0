"""The structure holds: a pure engine, no import cycles, no class over 300 lines, and a
benchmark that does not need the test suite."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assistant"
MAX_CLASS_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Modules imported by a file, lazy imports included, TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else \
        module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def package_files() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_the_engine_imports_only_the_standard_library_transitions_and_itself() -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"transitions", "__future__"}
    wrong = {}
    for path in (PACKAGE / "engine").glob("*.py"):
        bad = {m for m in imports(path)
               if m.split(".")[0] not in allowed_roots
               and not (m == "assistant.engine" or m.startswith("assistant.engine."))}
        if bad:
            wrong[path.name] = sorted(bad)
    assert not wrong
    assert len(list((PACKAGE / "engine").glob("*.py"))) >= 10  # the check saw the engine


def test_no_import_cycle_inside_the_package() -> None:
    modules = package_files()
    graph = {name: {m for m in imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    assert graph["assistant.voice"] and graph["assistant.cli"]  # the graph has edges
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            assert (cycle := visit(name)) is None, " → ".join(cycle)


def test_nothing_imports_the_command_line_back() -> None:
    users = [name for name, path in package_files().items()
             if not name.startswith("assistant.cli")
             and any(m == "assistant.cli" or m.startswith("assistant.cli.")
                     for m in imports(path))]
    assert users == [] or users == ["assistant.__main__"]


def test_no_class_is_longer_than_300_lines() -> None:
    sizes = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                sizes[f"{module_name(path)}.{node.name}"] = node.end_lineno - node.lineno + 1
    assert "assistant.engine.session.Session" in sizes
    too_long = {name: n for name, n in sizes.items() if n > MAX_CLASS_LINES}
    assert not too_long


def test_the_benchmark_does_not_need_the_test_suite() -> None:
    scripts = list((ROOT / "scripts").rglob("*.py"))
    assert scripts
    users = [p.name for p in scripts if any(m == "tests" or m.startswith("tests.")
                                            for m in imports(p))]
    assert users == []
