"""The default OVIR-X model shipped inside the package (``model.onnx`` + ``manifest.json``).

Built by ``bitunix-bot train --promote --bundle src/bitunix/ml/bundled`` from the bundled
BTCUSDT and ETHUSDT captures (seeded, reproducible); the same files are registered and
active in the repository's ``models/`` registry. ``bitunix-bot models install-default``
registers this copy into any registry directory.
"""

from __future__ import annotations

from pathlib import Path

from bitunix.ml.manifest import MANIFEST_NAME, load_manifest
from bitunix.ml.registry import ModelRegistry, RegistryEntry


def bundled_model_dir() -> Path:
    """Directory of the shipped default model."""
    return Path(__file__).parent


def install_bundled_model(registry: ModelRegistry) -> RegistryEntry:
    """Register the shipped model in ``registry`` (once) and make it the active one."""
    src = bundled_model_dir()
    manifest = load_manifest(src / MANIFEST_NAME)
    known = {(e.name, e.version) for e in registry.entries()}
    if (manifest.name, manifest.version) not in known:
        registry.register(src)
    return registry.promote(manifest.name, manifest.version)
