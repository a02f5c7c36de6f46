"""Hot swap: the live Predictor follows promote and rollback without a restart."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import msgspec
import numpy as np
import pytest

from bitunix.features import FEATURE_NAMES
from bitunix.ml.hotswap import ActiveModelWatcher
from bitunix.ml.manifest import load_manifest, save_manifest
from bitunix.ml.registry import LoadedModel, ModelRegistry, RegistryEntry, load_predictor
from bitunix.ml.runtime import SOURCE_FALLBACK, SOURCE_MODEL, Scorer


def add(reg: ModelRegistry, model_dir: Path, tmp: Path, version: str) -> None:
    out = tmp / version
    shutil.copytree(model_dir, out)
    m = load_manifest(out / "manifest.json")
    save_manifest(msgspec.structs.replace(m, version=version), out / "manifest.json")
    reg.register(out)


def test_watcher_follows_promote_rollback_and_retire(model_dir: Path, tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    add(reg, model_dir, tmp_path, "b")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    x = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    predictor.predict(x)
    assert predictor.last_source == SOURCE_FALLBACK
    assert not watcher.poll()  # nothing changed

    reg.promote("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.name == "ovirx-test@a"
    predictor.predict(x)
    assert predictor.last_source == SOURCE_MODEL
    first = predictor.model

    reg.promote("ovirx-test", "b")
    assert watcher.poll()
    assert predictor.name == "ovirx-test@b"
    assert predictor.model is not first

    reg.rollback()
    assert watcher.poll()
    assert predictor.name == "ovirx-test@a"

    reg.retire("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.model is None
    assert watcher.swaps == 4


def test_a_bad_new_model_leaves_the_current_one_serving(model_dir: Path, tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    add(reg, model_dir, tmp_path, "b")
    reg.promote("ovirx-test", "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    entry = reg.promote("ovirx-test", "b")
    (reg.model_dir(entry) / "model.onnx").write_bytes(b"garbage")
    assert not watcher.poll()
    assert "corrupt" in watcher.last_error
    assert predictor.name == "ovirx-test@a"
    (reg.root / "registry.json").write_text("not json")
    assert not watcher.poll()
    assert "invalid" in watcher.last_error


def test_load_error_follows_the_swaps(model_dir: Path, tmp_path: Path) -> None:
    """``Predictor.load_error`` is "why no model serves (empty when one does)"; a hot swap
    that installs a model used to leave the start-up reason ("no active model ...") in
    place, and one that removes the model left it empty."""
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    assert "no active model" in predictor.load_error
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    reg.promote("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.model is not None
    assert predictor.load_error == ""
    reg.retire("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.model is None
    assert "no active model" in predictor.load_error


# -- issue 15: a failed hot swap is reported, backs off, and loads off the loop ---------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_loads(reg: ModelRegistry, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the thread of every ``registry.load`` (and so count the loads)."""
    seen: list[str] = []
    real = reg.load

    def load(entry: RegistryEntry, names: Sequence[str]) -> LoadedModel:
        seen.append(threading.current_thread().name)
        return real(entry, names)

    monkeypatch.setattr(reg, "load", load)
    return seen


def broken_b(model_dir: Path, tmp_path: Path) -> tuple[ModelRegistry, Path, bytes]:
    """A registry serving ``a``; ``b`` promoted with a corrupt file."""
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    add(reg, model_dir, tmp_path, "b")
    reg.promote("ovirx-test", "a")
    entry = reg.promote("ovirx-test", "b")
    path = reg.model_dir(entry) / "model.onnx"
    good = path.read_bytes()
    path.write_bytes(b"garbage")
    return reg, path, good


def test_a_broken_model_is_not_reloaded_at_every_poll(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broken model was rebuilt (ONNX session + warm-up) at every poll, and the
    failure was silent (``last_error`` was never read)."""
    reg, path, good = broken_b(model_dir, tmp_path)
    reg.promote("ovirx-test", "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    reg.promote("ovirx-test", "b")
    clock = Clock()
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded, clock=clock)
    loads = counting_loads(reg, monkeypatch)
    assert not watcher.poll()
    assert watcher.swap_failures == 1
    assert "corrupt" in watcher.last_error
    assert "corrupt" in watcher.last_failure
    for _ in range(5):
        clock.now += 3600.0  # long past any back-off: nothing changed, nothing to retry
        assert not watcher.poll()
    assert len(loads) == 1
    assert watcher.swap_failures == 1
    assert predictor.name == "ovirx-test@a"
    path.write_bytes(good)  # the registry's files change: retried
    clock.now += 3600.0
    assert watcher.poll()
    assert predictor.name == "ovirx-test@b"
    assert len(loads) == 2
    assert watcher.last_error == ""
    assert "corrupt" in watcher.last_failure  # still reported after the recovery
    assert watcher.swap_failures == 1


def test_failures_back_off_exponentially_up_to_a_cap(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, path, _ = broken_b(model_dir, tmp_path)
    clock = Clock()
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(
        reg, predictor, FEATURE_NAMES, loaded, clock=clock, retry_min_s=1.0, retry_max_s=4.0
    )
    loads = counting_loads(reg, monkeypatch)
    attempts_at: list[float] = []
    start = clock.now
    for step in range(60):  # every 0.5 s the broken file is rewritten (the registry changes)
        clock.now = start + step * 0.5
        path.write_bytes(b"garbage" * (step + 2))  # a new size: a change for any clock
        n = len(loads)
        watcher.poll()
        if len(loads) > n:
            attempts_at.append(clock.now - start)
    gaps = [b - a for a, b in pairwise(attempts_at)]
    assert gaps[:3] == [1.0, 2.0, 4.0]
    assert set(gaps[3:]) == {4.0}
    assert watcher.swap_failures == len(attempts_at)


def test_an_unreadable_index_is_reported_once_until_it_changes(
    model_dir: Path, tmp_path: Path
) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    reg.promote("ovirx-test", "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    clock = Clock()
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded, clock=clock)
    good = (reg.root / "registry.json").read_bytes()
    (reg.root / "registry.json").write_text("not json")
    for _ in range(3):
        clock.now += 3600.0
        assert not watcher.poll()
    assert watcher.swap_failures == 1
    assert "invalid" in watcher.last_error
    (reg.root / "registry.json").write_bytes(good)
    assert not watcher.poll()  # the same model again: nothing to swap, the error clears
    assert watcher.last_error == ""
    assert predictor.name == "ovirx-test@a"


def test_poll_async_loads_off_the_loop_and_swaps_on_it(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    loads = counting_loads(reg, monkeypatch)
    swapped_on: list[str] = []
    real_swap = predictor.swap

    def swap(model: Scorer | None, **kw: object) -> Scorer | None:
        swapped_on.append(threading.current_thread().name)
        assert model is None or kw.get("warmup_rows") is not None  # warmed on this thread
        return real_swap(model, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(predictor, "swap", swap)
    reg.promote("ovirx-test", "a")

    async def main() -> tuple[bool, bool]:
        first, second = await asyncio.gather(watcher.poll_async(), watcher.poll_async())
        return first, second

    first, second = asyncio.run(main())
    assert (first, second) == (True, False)  # one load in flight at a time
    assert loads != []
    assert all(name != "MainThread" for name in loads)
    assert swapped_on == ["MainThread"]
    assert predictor.name == "ovirx-test@a"
    assert asyncio.run(watcher.poll_async()) is False


def test_a_model_failing_its_warm_up_on_the_loop_is_a_failed_swap(
    model_dir: Path, tmp_path: Path
) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    add(reg, model_dir, tmp_path, "b")
    reg.promote("ovirx-test", "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    reg.promote("ovirx-test", "b")
    plan = watcher.check()
    assert plan is not None
    assert plan.loaded is not None

    class Boom:
        def score(self, vector: np.ndarray) -> float:
            raise RuntimeError("kaput")

    plan.loaded.scorer = Boom()
    assert not watcher.apply(plan)
    assert predictor.name == "ovirx-test@a"
    assert watcher.swap_failures == 1
    assert "ovirx-test@b" in watcher.last_error
    assert "warm-up" in watcher.last_error
    assert watcher.check() is None  # not retried until the registry changes
