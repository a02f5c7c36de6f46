"""The model registry: a directory of models, each with its manifest, and who is active.

Layout (``models/`` at the repository root is one; any directory can be)::

    models/
      registry.json                  # entries + activation history (for rollback)
      <name>/<version>/model.onnx
      <name>/<version>/manifest.json

Status of an entry: ``active`` (serves and trades; at most one), ``shadow`` (scores the
same features without trading, tracked beside the active one; at most one),
``candidate`` (registered, idle) or ``retired`` (was active or shadow, replaced).
``promote`` makes a model active and remembers the one it replaced; ``rollback``
re-activates the previous one. Every change rewrites ``registry.json`` atomically
(temp file + rename), so a crash never leaves half an index.

Names and versions are plain names (:func:`check_name`: ``[A-Za-z0-9._-]{1,64}``, not
starting with a dot, no ``..``), checked wherever the registry takes one (register,
promote, shadow, retire, get, rollback, load), so no name can point outside the
directory; an index entry whose path is not ``<name>/<version>`` is refused at load.

Loading checks the file's sha256 against the entry (a corrupt or swapped file is
refused) and the manifest's features against the FeatureEngine's (a mismatch is refused
with the difference spelled out). ``load_predictor`` turns a load failure into a
refusing Predictor (no entry), with the reason kept in ``Predictor.load_error``; the rule
fallback decides only where no model is configured.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import msgspec

from bitunix.ml.errors import ModelError, ModelLoadError, RegistryError
from bitunix.ml.fallback import RuleFallback, RuleFallbackConfig
from bitunix.ml.manifest import (
    MANIFEST_NAME,
    ModelManifest,
    check_features,
    load_manifest,
    logistic_sha256,
    sha256_file,
)
from bitunix.ml.runtime import LogisticScorer, OnnxScorer, Predictor, RuntimeConfig, Scorer
from bitunix.ml.warmup import warmup_rows

INDEX_NAME = "registry.json"
Status = Literal["active", "shadow", "candidate", "retired"]

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def check_name(value: str, what: str = "name") -> str:
    """Return ``value`` if it is a plain model name or version, else raise RegistryError.

    Plain: 1-64 characters of ``A-Z a-z 0-9 . _ -``, not starting with a dot, no ``..``.
    A name or version becomes a directory of the registry, so anything else could point
    outside it (``../../x``) or hide (``.x``). ``what`` is ``name`` or ``version``.
    """
    if not isinstance(value, str) or _NAME.fullmatch(value) is None or ".." in value:
        raise RegistryError(
            f"model {what} {value!r} is not a plain name (1-64 characters of "
            "A-Z a-z 0-9 . _ -, not starting with '.', no '..')"
        )
    return value


class RegistryEntry(msgspec.Struct, kw_only=True):
    """One registered model, as ``models list --json`` prints it."""

    name: str
    version: str
    path: str
    sha256: str
    features: list[str]
    status: Status = "candidate"
    kind: str = "onnx"


class RegistryIndex(msgspec.Struct, kw_only=True):
    """The content of ``registry.json``: entries and the stack of previously active ids."""

    entries: list[RegistryEntry] = msgspec.field(default_factory=list)
    history: list[str] = msgspec.field(default_factory=list)


def model_id(name: str, version: str) -> str:
    """The ``name@version`` key used in the history and on the command line."""
    return f"{name}@{version}"


class LoadedModel(msgspec.Struct, kw_only=True):
    """A model ready to serve."""

    entry: RegistryEntry
    manifest: ModelManifest
    scorer: Scorer


class ModelRegistry:
    """Read and change a registry directory; see the module doc."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- reading ---------------------------------------------------------------------
    def index(self) -> RegistryIndex:
        """The current index (empty when the directory has none yet)."""
        path = self.root / INDEX_NAME
        if not path.exists():
            return RegistryIndex()
        try:
            return msgspec.json.decode(path.read_bytes(), type=RegistryIndex)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise RegistryError(f"registry index {path} is invalid: {exc}") from exc

    def entries(self) -> list[RegistryEntry]:
        """All registered models."""
        return self.index().entries

    def get(self, name: str, version: str | None = None) -> RegistryEntry:
        """The entry ``name@version`` (``version`` None: the only or the active one)."""
        _check_id(name, version)
        matches = [e for e in self.entries() if e.name == name]
        if version is not None:
            matches = [e for e in matches if e.version == version]
        elif len(matches) > 1:
            matches = [e for e in matches if e.status == "active"] or matches[-1:]
        if not matches:
            raise RegistryError(f"no model {model_id(name, version or '*')} in {self.root}")
        return matches[0]

    def with_status(self, status: Status) -> RegistryEntry | None:
        """The entry with ``status`` (active or shadow), if any."""
        for e in self.entries():
            if e.status == status:
                return e
        return None

    def stamp(self, entry: RegistryEntry | None = None) -> tuple[tuple[str, int, int, int], ...]:
        """A value that changes when the index or ``entry``'s files change (name, inode,
        size, mtime of each; cheap ``stat`` calls, nothing is read). The hot-swap watcher
        retries a model that failed to load only after its stamp changed."""
        paths = [self.root / INDEX_NAME]
        if entry is not None:
            try:
                mdir = self.model_dir(entry)
                paths.extend(sorted(p for p in mdir.iterdir() if p.is_file()))
            except (ModelError, OSError):
                pass  # a bad entry or a missing directory: the index alone says when it changes
        out = []
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                out.append((path.name, -1, -1, -1))
                continue
            out.append((path.name, st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def model_dir(self, entry: RegistryEntry) -> Path:
        """Directory holding the entry's files; RegistryError when the index says
        anything but ``<name>/<version>`` (a hand-edited or hostile index)."""
        _check_id(entry.name, entry.version)
        if entry.path != f"{entry.name}/{entry.version}":
            raise RegistryError(
                f"{model_id(entry.name, entry.version)}: path {entry.path!r} in "
                f"{self.root / INDEX_NAME} is not {entry.name}/{entry.version}"
            )
        return self.root / entry.path

    # -- changing --------------------------------------------------------------------
    def register(self, source_dir: str | Path) -> RegistryEntry:
        """Copy a model directory (manifest + file) into the registry as a candidate."""
        src = Path(source_dir)
        manifest = load_manifest(src / MANIFEST_NAME)
        try:
            _check_id(manifest.name, manifest.version)
        except RegistryError as exc:
            raise RegistryError(f"{src}: cannot register: {exc}") from None
        problem = _identity_problem(manifest, src, manifest.sha256)
        if problem:
            raise RegistryError(f"{src}: cannot register: {problem}")
        idx = self.index()
        key = model_id(manifest.name, manifest.version)
        if any(model_id(e.name, e.version) == key for e in idx.entries):
            raise RegistryError(f"{key} is already registered in {self.root}")
        rel = Path(manifest.name) / manifest.version
        dest = self.root / rel
        if dest.resolve() != src.resolve():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / MANIFEST_NAME, dest / MANIFEST_NAME)
            if manifest.kind == "onnx":
                shutil.copyfile(src / manifest.file, dest / manifest.file)
        entry = RegistryEntry(
            name=manifest.name,
            version=manifest.version,
            path=rel.as_posix(),
            sha256=manifest.sha256,
            features=list(manifest.features),
            kind=manifest.kind,
        )
        idx.entries.append(entry)
        self._write(idx)
        return entry

    def promote(self, name: str, version: str | None = None) -> RegistryEntry:
        """Make a model active; the active one is retired and remembered for rollback."""
        idx = self.index()
        target = self._find(idx, name, version)
        if target.status == "active":
            return target
        for e in idx.entries:
            if e.status == "active":
                e.status = "retired"
                idx.history.append(model_id(e.name, e.version))
        target.status = "active"
        self._write(idx)
        return target

    def shadow(self, name: str, version: str | None = None) -> RegistryEntry:
        """Make a model the shadow (challenger); a previous shadow goes back to candidate."""
        idx = self.index()
        target = self._find(idx, name, version)
        if target.status == "active":
            raise RegistryError(
                f"{model_id(target.name, target.version)} is active, not a challenger"
            )
        for e in idx.entries:
            if e.status == "shadow":
                e.status = "candidate"
        target.status = "shadow"
        self._write(idx)
        return target

    def retire(self, name: str, version: str | None = None) -> RegistryEntry:
        """Take a model out of service (an active model leaves no model active)."""
        idx = self.index()
        target = self._find(idx, name, version)
        target.status = "retired"
        self._write(idx)
        return target

    def rollback(self) -> RegistryEntry:
        """Re-activate the previously active model; the current one is retired."""
        idx = self.index()
        if not idx.history:
            raise RegistryError(f"nothing to roll back to in {self.root}")
        previous_id = idx.history.pop()
        name, _, version = previous_id.partition("@")
        previous = self._find(idx, name, version)
        for e in idx.entries:
            if e.status == "active":
                e.status = "retired"
        previous.status = "active"
        self._write(idx)
        return previous

    # -- loading ---------------------------------------------------------------------
    def load(self, entry: RegistryEntry, feature_names: Sequence[str]) -> LoadedModel:
        """Verify and open a model; ModelLoadError / FeatureMismatchError on failure."""
        mdir = self.model_dir(entry)
        manifest = load_manifest(mdir / MANIFEST_NAME)
        check_features(manifest, feature_names)
        if manifest.sha256 != entry.sha256:
            raise ModelLoadError(
                f"{model_id(entry.name, entry.version)}: manifest sha256 differs from the registry"
            )
        problem = _identity_problem(manifest, mdir, entry.sha256)
        if problem:
            raise ModelLoadError(f"{model_id(entry.name, entry.version)}: {problem}")
        scorer: Scorer
        if manifest.logistic is not None and manifest.kind == "logistic":
            lp = manifest.logistic
            if len(lp.weights) != len(feature_names):
                raise ModelLoadError(
                    f"{model_id(entry.name, entry.version)}: {len(lp.weights)} logistic "
                    f"weights for {len(feature_names)} features"
                )
            scorer = LogisticScorer(lp.weights, lp.bias, lp.mean, lp.scale)
        else:
            scorer = OnnxScorer(
                mdir / manifest.file,
                len(feature_names),
                warmup_rows=warmup_rows(manifest.reference, feature_names),
            )
        return LoadedModel(entry=entry, manifest=manifest, scorer=scorer)

    def load_status(self, status: Status, feature_names: Sequence[str]) -> LoadedModel | None:
        """Load the active or shadow model (None when there is none)."""
        entry = self.with_status(status)
        return None if entry is None else self.load(entry, feature_names)

    # -- internals -------------------------------------------------------------------
    def _find(self, idx: RegistryIndex, name: str, version: str | None) -> RegistryEntry:
        _check_id(name, version)
        matches = [
            e for e in idx.entries if e.name == name and (version is None or e.version == version)
        ]
        if not matches:
            raise RegistryError(f"no model {model_id(name, version or '*')} in {self.root}")
        if len(matches) > 1:
            # Changing "the" model of a name with several versions would pick one silently.
            versions = ", ".join(e.version for e in matches)
            raise RegistryError(f"{name} has several versions ({versions}): give a version")
        return matches[0]

    def _write(self, idx: RegistryIndex) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / INDEX_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(idx), indent=2) + b"\n")
        os.replace(tmp, path)


def _check_id(name: str, version: str | None) -> None:
    check_name(name, "name")
    if version is not None:
        check_name(version, "version")


def _identity_problem(manifest: ModelManifest, directory: Path, expected: str) -> str:
    """Why the model in ``directory`` is not the one ``expected`` names ("" if it is)."""
    if manifest.kind == "onnx":
        check_name(manifest.file, "file")  # a file name, never a path out of the directory
    if manifest.kind == "logistic":
        if manifest.logistic is None:
            return "logistic model without weights"
        actual = logistic_sha256(manifest.logistic)
    else:
        path = directory / manifest.file
        if not path.is_file():
            return f"model file {path} does not exist"
        actual = sha256_file(path)
    if actual != expected:
        return f"sha256 {actual} does not match the expected {expected} (corrupt or replaced)"
    return ""


def load_predictor(
    registry: ModelRegistry | None,
    feature_names: Sequence[str],
    *,
    runtime: RuntimeConfig | None = None,
    fallback: RuleFallbackConfig | None = None,
    status: Status = "active",
) -> tuple[Predictor, LoadedModel | None]:
    """A Predictor serving the registry's active (or shadow) model, else the rule fallback.

    Never raises for a model problem; ``load_error`` says why no model serves (the caller
    logs it). With no registry, or no model of that status in it, the rule fallback
    decides: that is what was configured. When the registry names a model that cannot be
    served (a corrupt file, a feature mismatch, a missing runtime), the Predictor refuses
    every decision instead (``refusing``): the rules would be looser than the model they
    stand in for.
    """
    rule = RuleFallback(feature_names, fallback)
    loaded: LoadedModel | None = None
    error = "no model registry configured" if registry is None else ""
    broken = False
    if registry is not None:
        try:
            loaded = registry.load_status(status, feature_names)
            if loaded is None:
                error = f"no {status} model in {registry.root}"
        except ModelError as exc:
            error = str(exc)
            broken = True
    name = "" if loaded is None else model_id(loaded.entry.name, loaded.entry.version)
    predictor = Predictor(None if loaded is None else loaded.scorer, rule, runtime, name=name)
    predictor.load_error = error
    predictor.refusing = broken
    return predictor, loaded
