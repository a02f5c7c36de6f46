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
    "features": {"core", "_native", "model"},
    "config": {"core", "model", "risk", "execution", "strategy", "ml", "exchange", "store",
               "features", "data", "sim"},
    "ml": {"core", "features", "model", "data"},
    "strategy": {"core", "features", "model", "ml"},
    "risk": {"core", "model"},
    "exchange": {"core", "model", "wire"},
    "execution": {"core", "model", "risk"},
    "adapters": {"core", "model", "wire", "exchange", "sim", "execution"},
    "store": {"core", "model"},
    "obs": {"core", "model"},
    "sim": {"core", "model", "wire", "data"},
    "data": {"core", "model"},
    "backtest": {"core", "model", "features", "strategy", "risk", "execution", "sim", "ml",
                 "data", "store"},
    # The operator's channel: requests through the store, carried out by the bot's engine.
    "control": {"core", "model", "risk", "execution", "store"},
    "logs": {"core"},
    # Observers of a run (app.observers) at the level of the wiring.
    "notify": {"core", "model", "risk", "config", "app"},
    "ui": {"core", "model", "risk", "obs", "app"},
    "integrations": {"core", "model", "config", "strategy", "risk", "obs", "app"},
    # The control API wires the listener (app.http_observer) to the operator's channel.
    "api": {"core", "model", "config", "control", "app", "ml", "obs"},
}


def _package_of(path: Path, root: Path) -> str:
    """The dotted package a module belongs to (a package's ``__init__`` is its own)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1])


def _absolute(node: ast.ImportFrom, package: str) -> list[str]:
    """The modules an ``ImportFrom`` reaches, relative ones resolved against ``package``."""
    if node.level == 0:
        base = node.module or ""
    else:
        parts = package.split(".")
        up = len(parts) - (node.level - 1)
        if up < 1:
            return []  # beyond the top-level package: Python refuses it anyway
        base = ".".join(parts[:up] + ([node.module] if node.module else []))
    # `from bitunix import exchange` and `from .. import app` name subpackages.
    if base == "bitunix" or node.module is None:
        return [f"{base}.{alias.name}" for alias in node.names]
    return [base]


def _imports(path: Path, package: str = "bitunix") -> set[str]:
    """Top-level bitunix packages ``path`` imports; ``package`` is the module's package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(_absolute(node, package))
    return {n.split(".")[1] for n in names if n.startswith("bitunix.")}


def _violations(root: Path, allowed_by_pkg: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    for pkg, allowed in allowed_by_pkg.items():
        pkg_dir = root / pkg
        if not pkg_dir.is_dir():
            continue
        for path in sorted(pkg_dir.rglob("*.py")):
            bad = _imports(path, _package_of(path, root)) - allowed - {pkg, "__version__"}
            out.extend(f"{path.relative_to(root)} imports bitunix.{b}" for b in sorted(bad))
    return out


def test_no_upward_imports() -> None:
    assert _violations(ROOT, ALLOWED) == []


def test_layering_table_catches_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from bitunix.exchange import rest\nimport bitunix.app.wiring\n")
    assert _imports(sample) == {"exchange", "app"}


def test_relative_imports_are_resolved_against_the_package(tmp_path: Path) -> None:
    # A relative import used to be skipped, so `from ..exchange import rest` inside
    # `strategy` passed the check: it is an upward import like any other.
    sample = tmp_path / "m.py"
    sample.write_text("from ..exchange import rest\n"
                      "from .. import app\n"
                      "from . import signal\n"
                      "from .sizing import kelly\n"
                      "from bitunix import risk\n")
    assert _imports(sample, "bitunix.strategy") == {"exchange", "app", "strategy", "risk"}
    nested = tmp_path / "n.py"
    nested.write_text("from ...model import Side\nfrom ..registry import load\n")
    assert _imports(nested, "bitunix.ml.runtime") == {"model", "ml"}


def test_an_upward_relative_import_is_a_violation(tmp_path: Path) -> None:
    root = tmp_path / "bitunix"
    (root / "strategy").mkdir(parents=True)
    (root / "strategy" / "__init__.py").write_text("from ..exchange import rest\n")
    (root / "strategy" / "ok.py").write_text("from . import helpers\nfrom ..model import x\n")
    assert _violations(root, {"strategy": {"core", "model"}}) == [
        "strategy/__init__.py imports bitunix.exchange"]
