"""The layers import downwards only.

The entry points (`cli`, the thin `worker.py`) and the parts that face callers (`starter`,
`web`) sit on top; `store`, `activities`, `workflows` and the plumbing in `proctorflow` never
import them; `models` imports nothing of ours but `models`, and the plumbing nothing of ours but
the plumbing. Every .py file is parsed, so an
import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ENTRY_POINTS = {"cli", "starter", "web", "worker"}
LOWER_LAYERS = ("store", "activities", "workflows", "proctorflow")
MODELS = "models"
PLUMBING = "proctorflow"


def our_packages() -> set[str]:
    """Top-level packages and modules of this repository (the folders holding Python files)."""
    found = {path.stem for path in ROOT.glob("*.py")}
    for folder in ROOT.iterdir():
        ours = folder.is_dir() and folder.name.isidentifier() and not folder.name.startswith(".")
        if ours and any(folder.rglob("*.py")):
            found.add(folder.name)
    return found


def python_files(folder: str) -> list[Path]:
    return sorted(path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            if not node.module:  # `from . import x`: x may be a module
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"


def violations(folders: tuple[str, ...], refused: Callable[[str, str], bool]) -> list[str]:
    found = []
    for folder in folders:
        for path in python_files(folder):
            for line, target in imports(path):
                if refused(folder, target.split(".")[0]):
                    relative = path.relative_to(ROOT)
                    found.append(f"{module_name(path)} ({relative}:{line}) imports {target}")
    return found


def test_the_layer_folders_exist_and_hold_python():
    for folder in (*LOWER_LAYERS, MODELS):
        assert python_files(folder), f"{folder}/ holds no .py file: this test would check nothing"


def test_no_lower_layer_imports_an_entry_point():
    found = violations(LOWER_LAYERS, lambda folder, top: top in ENTRY_POINTS)
    assert not found, "lower layers import an entry point:\n  " + "\n  ".join(found)


def test_models_import_only_models():
    ours = our_packages() - {MODELS}
    found = violations((MODELS,), lambda folder, top: top in ours)
    assert not found, "models import other packages of ours:\n  " + "\n  ".join(found)


def test_the_plumbing_imports_only_the_plumbing():
    """`proctorflow/` is under everything: the keys `register_search_attributes` registers come
    from its callers, not from `workflows`."""
    ours = our_packages() - {PLUMBING}
    found = violations((PLUMBING,), lambda folder, top: top in ours)
    assert not found, "the plumbing imports other packages of ours:\n  " + "\n  ".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import cli", ["cli"]),
        ("import web.app as app", ["web.app"]),
        ("from starter import ops", ["starter"]),
        ("def later():\n    from cli.worker import build_worker\n", ["cli.worker"]),
        ("from .tables import Attempt", ["models.tables"]),
        ("from . import rules", ["models", "models.rules"]),
    ],
)
def test_every_kind_of_import_is_seen(tmp_path, monkeypatch, source, expected):
    module = tmp_path / "models" / "example.py"
    module.parent.mkdir()
    module.write_text(source)
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert [target for _, target in imports(module)] == expected
