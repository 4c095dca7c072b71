"""The import rules of docs/architecture.md, checked on the source (issue 14).

Data flows one way: ``sources → motion → exercises → coach → faces (web, cli)``, with
``store`` beside, ``program`` (pure rules) on top and ``services`` between the faces and
the store. Every import counts, also those inside functions (a lazy import is still a
dependency). The nodes are the packages of ``spinecoach`` and its top-level modules.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "spinecoach"

#: Lower stages: sensors, signal processing, detectors, simulator, file formats.
LOWER = ("sources", "motion", "exercises", "sim", "io", "camera", "posture")
#: What the lower stages never import: the coach, the services, the faces, the store and
#: the program.
HIGHER = ("coach", "services", "web", "cli", "store", "program")
#: The faces: the web server and the command line (with the terminal coach,
#: ``cli.terminal``).
FACES = ("web", "cli")


def _node(module: str) -> str:
    """The package (or top-level module) a dotted ``spinecoach.…`` module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, dict[str, set[str]]]:
    """node → imported node → the modules that import it (for the failure message)."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        node = _node(name)
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for item in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(item, ast.ImportFrom):
                if item.level:
                    base = package[: len(package) - (item.level - 1)]
                    targets = [".".join([*base, *([item.module] if item.module else [])])]
                else:
                    targets = [item.module or ""]
            elif isinstance(item, ast.Import):
                targets = [alias.name for alias in item.names]
            for target in targets:
                if target.startswith("spinecoach.") and _node(target) != node:
                    graph[node][_node(target)].add(name)
    return graph


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def _breaks(
    graph: dict[str, dict[str, set[str]]], low: tuple[str, ...], high: tuple[str, ...]
) -> dict[str, list[str]]:
    """Every forbidden edge from ``low`` to ``high`` with the modules that make it."""
    return {f"{a} -> {b}": sorted(graph[a][b]) for a in low for b in high if b in graph.get(a, {})}


def test_the_graph_sees_the_imports() -> None:
    """The checker itself: it finds known edges (so the rules below cannot pass vacuously)."""
    graph = import_graph()
    assert "motion" in graph["exercises"]
    assert "store" in graph["services"]
    assert "spinecoach.services.report" in graph["services"]["program"]


def test_lower_stages_never_import_higher_ones() -> None:
    assert _breaks(import_graph(), LOWER, HIGHER) == {}


def test_program_is_pure() -> None:
    """The program's rules read plain values: no store, no web, no services."""
    assert _breaks(import_graph(), ("program",), ("store", "web", "services", "cli")) == {}


def test_services_sit_below_the_faces() -> None:
    assert _breaks(import_graph(), ("services",), ("coach", *FACES)) == {}


def test_the_coach_knows_no_face() -> None:
    """The live session, its pumps and the runner import nothing from the faces."""
    graph = import_graph()
    assert "coach" in graph["web"]  # the checker sees the web's use of the coach
    assert _breaks(graph, ("coach",), FACES) == {}


def test_no_import_cycles_between_packages() -> None:
    assert _cycles(import_graph()) == []


def test_no_module_imports_another_modules_private_names() -> None:
    """What a module offers to others is public: no ``from x import _name`` across modules."""
    private = []
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        for item in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(item, ast.ImportFrom) and (item.module or "").startswith("spinecoach"):
                private += [
                    f"{name}: from {item.module} import {alias.name}"
                    for alias in item.names
                    if alias.name.startswith("_")
                    and not alias.name.startswith("__")
                    and item.module != name
                ]
    assert private == []


def test_every_package_says_what_it_offers() -> None:
    """Each package's ``__init__`` has ``__all__``, and every name in it exists."""
    import importlib.util

    missing = []
    for init in sorted(SRC.glob("*/__init__.py")):
        name = _module_name(init)
        module = importlib.import_module(name)
        offered = getattr(module, "__all__", None)
        if not offered:
            missing.append(name)
            continue
        for item in offered:
            if not hasattr(module, item) and importlib.util.find_spec(f"{name}.{item}") is None:
                missing.append(f"{name}.{item}")
    assert missing == []


# --- Size limits (issue 14) -------------------------------------------------------------

#: A module longer than this is split along its seams (the migrations are generated code).
MAX_MODULE_LINES = 600
#: A function longer than this is split into named steps, unless its docstring says why
#: it must stay long (the phrase "over 80 lines" and the reason).
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts]


def test_no_module_over_600_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert long == {}


def _long_functions(source: str, name: str) -> dict[str, int]:
    """Functions of ``source`` over the limit whose docstring does not say why."""
    long: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        lines = node.end_lineno - node.lineno + 1
        why = "over 80 lines" in " ".join((ast.get_docstring(node) or "").lower().split())
        if lines > MAX_FUNCTION_LINES and not why:
            long[f"{name}:{node.name}"] = lines
    return long


def test_no_function_over_80_lines_unless_its_docstring_says_why() -> None:
    long: dict[str, int] = {}
    for path in _modules():
        long |= _long_functions(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))
    assert long == {}


def test_the_function_check_catches_a_long_function_and_reads_the_reason() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(79))
    plain = f"class A:\n    async def f(self):\n{body}\n"
    assert _long_functions(plain, "m") == {}  # 80 lines: at the limit
    longer = plain + "        x = 0\n"
    assert _long_functions(longer, "m") == {"m:f": 81}
    reason = '        """Over 80 lines:\n        a hot loop."""\n'
    explained = longer.replace("(self):\n", "(self):\n" + reason)
    assert _long_functions(explained, "m") == {}
