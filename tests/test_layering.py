"""Dependencies point down: a package may import only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import bitunix

ROOT = Path(bitunix.__file__).parent

# What each package may import from bitunix (besides itself). `app` and `cli` wire
# everything, so they may import anything.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "wire": {"core"},
    "model": {"core"},
    "features": {"core", "_native", "data"},
    "config": {"core", "model"},
    "ml": {"core", "features", "model", "data"},
    "strategy": {"core", "features", "model", "ml"},
    "risk": {"core", "model"},
    "exchange": {"core", "model", "wire"},
    "execution": {"core", "model", "risk"},
    "store": {"core", "model"},
    "obs": {"core", "model"},
    "sim": {"core", "model", "wire", "exchange", "data"},
    "data": {"core"},
    "backtest": {"core", "model", "features", "strategy", "risk", "execution", "sim", "ml",
                 "data", "store"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n.split(".")[1] for n in names if n.startswith("bitunix.")}


def test_no_upward_imports() -> None:
    violations = []
    for pkg, allowed in ALLOWED.items():
        pkg_dir = ROOT / pkg
        if not pkg_dir.is_dir():
            continue
        for path in pkg_dir.rglob("*.py"):
            bad = _imports(path) - allowed - {pkg, "__version__"}
            violations.extend(f"{path.relative_to(ROOT)} imports bitunix.{b}" for b in bad)
    assert violations == []


def test_layering_table_catches_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from bitunix.exchange import rest\nimport bitunix.app.wiring\n")
    assert _imports(sample) == {"exchange", "app"}
