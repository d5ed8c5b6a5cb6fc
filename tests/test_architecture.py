"""The import directions docs/architecture.md draws, checked on the source: a module that reaches
across them fails here, with the line that does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "service_monitor"

# (modules under this part, parts they must not import), parts named by their path in the package.
FORBIDDEN: list[tuple[str, tuple[str, ...]]] = [
    ("api", ("compute", "assembly", "cli", "remote")),
    ("compute", ("api", "fleet")),
    # The fleet is the compute spread over processes: it uses the prober, never the API.
    ("fleet", ("api", "assembly", "cli", "remote")),
    ("metrics", ("api", "compute", "fleet", "assembly")),
    ("storage", ("api", "compute", "fleet", "cache", "metrics", "stats", "services", "assembly")),
    ("cache", ("api", "compute", "fleet", "storage", "metrics", "stats", "services", "assembly")),
    ("stats", ("api", "compute", "metrics", "services", "assembly")),
    ("services", ("api", "compute", "metrics", "assembly")),
    ("remote", ("api", "compute", "storage", "cache", "stats", "services", "assembly")),
    ("client", ("api", "compute", "storage", "cache", "stats", "services", "assembly")),
    ("models", ("api", "compute", "storage", "cache", "metrics", "stats", "services")),
    # What a monitor asks of a check is vocabulary too: the API validates it, the store keeps it,
    # the compute runs it; it reaches none of them.
    (
        "check_spec",
        ("api", "compute", "storage", "cache", "metrics", "stats", "services", "models"),
    ),
    ("config", ("api", "compute", "storage", "cache", "metrics", "stats", "services")),
    # When monitors are due, and the planner's slots: vocabulary the store and the fleet share.
    ("due", ("api", "compute", "fleet", "storage", "cache", "metrics", "stats", "services")),
    # Alerting is a library the API and the dispatcher's processes call: it never reaches back.
    ("alerting", ("api", "compute", "assembly", "cli", "remote")),
    # The SSRF hooks of outgoing requests, shared by the prober and the alerting's senders.
    (
        "http_guard",
        ("api", "compute", "alerting", "storage", "cache", "metrics", "stats", "services"),
    ),
]


def _modules(part: str) -> list[Path]:
    folder = PACKAGE / part
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{part}.py"]


def _imported(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, as a dotted name inside the package ("compute.worker"), with
    its line; imports of other packages are left out."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    package = here[:-1]  # a module's package, or for an __init__ its own
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join((*base, *(node.module.split(".") if node.module else ())))
                names = (
                    [target]
                    if node.module
                    else [f"{'.'.join(base)}.{a.name}".lstrip(".") for a in node.names]
                )
            elif node.module and node.module.startswith("service_monitor"):
                names = [node.module.removeprefix("service_monitor").lstrip(".")]
            else:
                continue
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name.removeprefix("service_monitor").lstrip("."))
                for alias in node.names
                if alias.name.startswith("service_monitor.")
            ]
    return found


@pytest.mark.parametrize(("part", "forbidden"), FORBIDDEN, ids=[part for part, _ in FORBIDDEN])
def test_each_part_imports_only_downwards(part: str, forbidden: tuple[str, ...]) -> None:
    crossings = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in _modules(part)
        for line, name in _imported(path)
        if name.split(".")[0] in forbidden
    ]
    assert crossings == []


def test_the_checker_sees_a_crossing() -> None:
    # The check above must be able to fail: the composition root does import the compute.
    assert any(name.startswith("compute") for _, name in _imported(PACKAGE / "assembly.py"))
    assert any(name.startswith("api") for _, name in _imported(PACKAGE / "assembly.py"))
