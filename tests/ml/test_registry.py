"""Registry: register, promote, shadow, rollback, retire; refusing corrupt or mismatched
models; the fallback when nothing can be served."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest

from bitunix.features import FEATURE_NAMES
from bitunix.ml.errors import FeatureMismatchError, ModelLoadError, RegistryError
from bitunix.ml.manifest import ModelManifest, load_manifest, save_manifest
from bitunix.ml.registry import ModelRegistry, load_predictor
from bitunix.ml.runtime import SOURCE_FALLBACK, SOURCE_MODEL, SOURCE_REFUSED, OnnxScorer


def versioned(model_dir: Path, tmp_path: Path, version: str) -> Path:
    """A copy of the test model under another version."""
    out = tmp_path / f"src-{version}"
    shutil.copytree(model_dir, out)
    m = load_manifest(out / "manifest.json")
    save_manifest(msgspec.structs.replace(m, version=version), out / "manifest.json")
    return out


@pytest.fixture
def registry(model_dir: Path, tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / "models")
    for v in ("v1", "v2", "v3"):
        reg.register(versioned(model_dir, tmp_path, v))
    return reg


def statuses(reg: ModelRegistry) -> dict[str, str]:
    return {e.version: e.status for e in reg.entries()}


def test_register_copies_files_and_lists_entries(registry: ModelRegistry) -> None:
    entries = registry.entries()
    assert [(e.name, e.version, e.status) for e in entries] == [
        ("ovirx-test", "v1", "candidate"),
        ("ovirx-test", "v2", "candidate"),
        ("ovirx-test", "v3", "candidate"),
    ]
    e = entries[0]
    assert e.features == list(FEATURE_NAMES)
    assert (registry.model_dir(e) / "model.onnx").is_file()
    assert registry.with_status("active") is None


def test_register_refuses_duplicates_and_tampered_files(
    registry: ModelRegistry, model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(versioned(model_dir, tmp_path / "again", "v1"))
    bad = versioned(model_dir, tmp_path / "bad", "v9")
    (bad / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(RegistryError, match=r"cannot register: sha256 .* does not match"):
        registry.register(bad)
    gone = versioned(model_dir, tmp_path / "gone", "v8")
    (gone / "model.onnx").unlink()
    with pytest.raises(RegistryError, match="does not exist"):
        registry.register(gone)


def test_promote_and_rollback(registry: ModelRegistry) -> None:
    registry.promote("ovirx-test", "v1")
    registry.promote("ovirx-test", "v2")
    assert statuses(registry) == {"v1": "retired", "v2": "active", "v3": "candidate"}
    registry.promote("ovirx-test", "v2")  # idempotent, history unchanged
    registry.promote("ovirx-test", "v3")
    assert registry.index().history == ["ovirx-test@v1", "ovirx-test@v2"]
    back = registry.rollback()
    assert back.version == "v2"
    assert statuses(registry) == {"v1": "retired", "v2": "active", "v3": "retired"}
    assert registry.rollback().version == "v1"
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()


def test_shadow_is_single_and_never_the_active(registry: ModelRegistry) -> None:
    registry.promote("ovirx-test", "v1")
    registry.shadow("ovirx-test", "v2")
    registry.shadow("ovirx-test", "v3")
    assert statuses(registry) == {"v1": "active", "v2": "candidate", "v3": "shadow"}
    with pytest.raises(RegistryError, match="is active"):
        registry.shadow("ovirx-test", "v1")
    registry.promote("ovirx-test", "v3")  # a shadow that wins is promoted
    assert statuses(registry)["v3"] == "active"
    registry.retire("ovirx-test", "v3")
    assert registry.with_status("active") is None


def test_unknown_models_and_bad_index(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryError, match="no model nope"):
        registry.promote("nope")
    with pytest.raises(RegistryError, match="no model"):
        registry.get("ovirx-test", "v7")
    assert registry.get("ovirx-test", "v2").version == "v2"
    registry.promote("ovirx-test", "v2")
    assert registry.get("ovirx-test").version == "v2"
    (registry.root / "registry.json").write_text("{oops")
    with pytest.raises(RegistryError, match="invalid"):
        registry.entries()


def test_load_active_serves_the_model(registry: ModelRegistry) -> None:
    registry.promote("ovirx-test", "v2")
    predictor, loaded = load_predictor(registry, FEATURE_NAMES)
    assert loaded is not None
    assert isinstance(loaded.scorer, OnnxScorer)
    assert predictor.name == "ovirx-test@v2"
    assert predictor.load_error == ""
    import numpy as np

    p = predictor.predict(np.zeros(len(FEATURE_NAMES), dtype=np.float32))
    assert 0.0 <= p <= 1.0
    assert predictor.last_source == SOURCE_MODEL


def test_a_corrupt_active_model_means_no_entry_not_the_rules(registry: ModelRegistry) -> None:
    import numpy as np

    e = registry.promote("ovirx-test", "v1")
    path = registry.model_dir(e) / "model.onnx"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="corrupt or replaced"):
        registry.load(e, FEATURE_NAMES)
    predictor, loaded = load_predictor(registry, FEATURE_NAMES)
    assert loaded is None
    assert "corrupt" in predictor.load_error
    assert predictor.model is None
    # The rules would be looser than the model they stand in for: every decision refuses.
    assert predictor.refusing
    assert predictor.source == SOURCE_REFUSED
    strong = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    strong[FEATURE_NAMES.index("vwap_z")] = 4.0
    strong[FEATURE_NAMES.index("depth_imbalance")] = -0.9
    assert predictor.predict(strong) == 0.0
    assert predictor.last_source == SOURCE_REFUSED
    assert predictor.stats.refusals == 1
    assert predictor.stats.fallback_calls == 0
    # a good model swapped in (hot swap after the registry is fixed) serves again
    good = registry.load(registry.get("ovirx-test", "v2"), FEATURE_NAMES)
    predictor.swap(good.scorer, name="ovirx-test@v2")
    assert not predictor.refusing
    predictor.predict(strong)
    assert predictor.last_source == SOURCE_MODEL


def test_missing_file_and_manifest_sha_mismatch(registry: ModelRegistry) -> None:
    e = registry.promote("ovirx-test", "v1")
    (registry.model_dir(e) / "model.onnx").unlink()
    with pytest.raises(ModelLoadError, match="does not exist"):
        registry.load(e, FEATURE_NAMES)
    e2 = registry.get("ovirx-test", "v2")
    m = load_manifest(registry.model_dir(e2) / "manifest.json")
    save_manifest(
        msgspec.structs.replace(m, sha256="0" * 64), registry.model_dir(e2) / "manifest.json"
    )
    with pytest.raises(ModelLoadError, match="manifest sha256 differs"):
        registry.load(e2, FEATURE_NAMES)


def test_feature_mismatch_is_refused_and_falls_back(registry: ModelRegistry) -> None:
    e = registry.promote("ovirx-test", "v1")
    engine = list(FEATURE_NAMES)[::-1]
    with pytest.raises(FeatureMismatchError, match="different order"):
        registry.load(e, engine)
    predictor, loaded = load_predictor(registry, engine)
    assert loaded is None
    assert "different order" in predictor.load_error


def test_no_registry_or_no_active_model_gives_the_fallback(tmp_path: Path) -> None:
    import numpy as np

    predictor, loaded = load_predictor(None, FEATURE_NAMES)
    assert loaded is None
    assert predictor.load_error == "no model registry configured"
    predictor.predict(np.zeros(len(FEATURE_NAMES), dtype=np.float32))
    assert predictor.last_source == SOURCE_FALLBACK
    predictor, _ = load_predictor(ModelRegistry(tmp_path / "empty"), FEATURE_NAMES)
    assert "no active model" in predictor.load_error


def test_logistic_model_loads_without_a_file(manifest: ModelManifest, tmp_path: Path) -> None:
    import numpy as np

    from bitunix.ml.manifest import LogisticParams, logistic_sha256

    n = len(FEATURE_NAMES)
    params = LogisticParams(weights=[0.1] * n, bias=0.0, mean=[0.0] * n, scale=[1.0] * n)
    src = tmp_path / "logit"
    src.mkdir()
    m = msgspec.structs.replace(
        manifest,
        name="ovirx-logit",
        version="l1",
        kind="logistic",
        file="",
        sha256=logistic_sha256(params),
        logistic=params,
    )
    save_manifest(m, src / "manifest.json")
    reg = ModelRegistry(tmp_path / "reg")
    entry = reg.register(src)
    reg.promote("ovirx-logit")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    assert loaded is not None
    assert loaded.entry.kind == "logistic"
    assert predictor.predict(np.zeros(n, dtype=np.float32)) == pytest.approx(0.5)
    # weights edited after registration are refused at load
    tampered = msgspec.structs.replace(
        m, logistic=msgspec.structs.replace(params, bias=5.0)
    )
    save_manifest(tampered, reg.model_dir(entry) / "manifest.json")
    with pytest.raises(ModelLoadError, match="corrupt or replaced"):
        reg.load(entry, FEATURE_NAMES)
    # and so are manifests whose weights are missing or do not match their sha256
    for bad, match in (
        (msgspec.structs.replace(m, version="l2", logistic=None), "without weights"),
        (msgspec.structs.replace(m, version="l3", sha256="0" * 64), "does not match"),
    ):
        d = tmp_path / bad.version
        d.mkdir()
        save_manifest(bad, d / "manifest.json")
        with pytest.raises(RegistryError, match=match):
            reg.register(d)


def test_missing_runtime_gives_the_fallback(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    registry.promote("ovirx-test", "v1")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    predictor, loaded = load_predictor(registry, FEATURE_NAMES)
    assert loaded is None
    assert "onnxruntime is not installed" in predictor.load_error
    assert predictor.model is None


def test_changes_by_name_alone_refuse_an_ambiguous_name(registry: ModelRegistry) -> None:
    """With several versions registered, ``retire NAME`` used to retire the oldest version
    (here an idle v1) and leave the active v2 trading; ``promote NAME`` promoted the oldest.
    A name alone must name one model."""
    registry.promote("ovirx-test", "v2")
    for change in (registry.retire, registry.promote, registry.shadow):
        with pytest.raises(RegistryError, match="give a version"):
            change("ovirx-test")
    assert statuses(registry) == {"v1": "candidate", "v2": "active", "v3": "candidate"}


def test_changes_by_name_alone_work_for_a_single_version(
    model_dir: Path, tmp_path: Path
) -> None:
    reg = ModelRegistry(tmp_path / "single")
    reg.register(versioned(model_dir, tmp_path, "only"))
    assert reg.promote("ovirx-test").status == "active"
    assert reg.retire("ovirx-test").status == "retired"


def test_logistic_weights_of_another_width_than_the_features_are_refused(
    manifest: ModelManifest, tmp_path: Path
) -> None:
    """A logistic manifest whose features match but whose weights cover fewer columns was
    served (the dot product silently ignored the rest); it must fall back instead."""
    from bitunix.ml.manifest import LogisticParams, logistic_sha256

    n = len(FEATURE_NAMES) - 2
    params = LogisticParams(weights=[0.1] * n, bias=0.0, mean=[0.0] * n, scale=[1.0] * n)
    src = tmp_path / "narrow"
    src.mkdir()
    m = msgspec.structs.replace(
        manifest, name="ovirx-logit", version="n1", kind="logistic", file="",
        sha256=logistic_sha256(params), logistic=params,
    )
    save_manifest(m, src / "manifest.json")
    reg = ModelRegistry(tmp_path / "reg")
    entry = reg.register(src)
    reg.promote("ovirx-logit")
    with pytest.raises(ModelLoadError, match="weights"):
        reg.load(entry, FEATURE_NAMES)
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    assert loaded is None
    assert predictor.model is None
    assert "weights" in predictor.load_error


def _model_failing_at_run(path: Path, n_features: int) -> None:
    """An ONNX model that loads (declared output [N, 2]) but whose run fails: its output is
    reshaped, data-dependently, to [1, 3]."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_features])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])
    inits = [
        helper.make_tensor("base", TensorProto.FLOAT, [2], [1.0, 3.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("s", TensorProto.INT64, [1], [0]),
        helper.make_tensor("e", TensorProto.INT64, [1], [3]),
        helper.make_tensor("a", TensorProto.INT64, [1], [1]),
    ]
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["sum"], keepdims=0),
        helper.make_node("Mul", ["sum", "zero"], ["z"]),
        helper.make_node("Add", ["base", "z"], ["shf"]),
        helper.make_node("Cast", ["shf"], ["shape"], to=TensorProto.INT64),
        helper.make_node("Slice", ["x", "s", "e", "a"], ["sl"]),
        helper.make_node("Reshape", ["sl", "shape"], ["probabilities"]),
    ]
    graph = helper.make_graph(nodes, "fails_at_run", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_a_model_whose_warm_up_run_fails_gives_the_fallback(
    model_dir: Path, tmp_path: Path
) -> None:
    """The warm-up runs at load were not guarded: onnxruntime's untyped error escaped
    load_predictor ("never raises for a model problem") instead of giving the fallback."""
    from bitunix.ml.manifest import sha256_file

    src = tmp_path / "bad-run"
    shutil.copytree(model_dir, src)
    _model_failing_at_run(src / "model.onnx", len(FEATURE_NAMES))
    m = load_manifest(src / "manifest.json")
    save_manifest(
        msgspec.structs.replace(m, version="badrun", sha256=sha256_file(src / "model.onnx")),
        src / "manifest.json",
    )
    reg = ModelRegistry(tmp_path / "reg")
    reg.register(src)
    reg.promote("ovirx-test")
    with pytest.raises(ModelLoadError, match="warm-up"):
        OnnxScorer(src / "model.onnx", len(FEATURE_NAMES))
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    assert loaded is None
    assert predictor.model is None
    assert "warm-up" in predictor.load_error


# -- issue 15: names and versions never leave the registry ----------------------------

BAD_NAMES = ["../../x", "..", "a/b", "a\\b", "", ".hidden", "a..b", "sp ace", "x" * 65, "/abs",
             "a@b", "na\u00efve"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_register_refuses_a_version_or_name_that_is_not_a_plain_name(
    registry: ModelRegistry, model_dir: Path, tmp_path: Path, bad: str
) -> None:
    """``train --version ../../x`` wrote the model outside the registry and registered it
    there."""
    before = (registry.root / "registry.json").read_bytes()
    for field in ("version", "name"):
        src = tmp_path / f"src-{field}"
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(model_dir, src)
        m = load_manifest(src / "manifest.json")
        save_manifest(msgspec.structs.replace(m, **{field: bad}), src / "manifest.json")
        with pytest.raises(RegistryError, match=re.escape(f"model {field} {bad!r}")):
            registry.register(src)
    assert (registry.root / "registry.json").read_bytes() == before
    assert sorted(p.name for p in registry.root.iterdir()) == ["ovirx-test", "registry.json"]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bad", ["../../x", "a/b", "", ".hidden"])
def test_changes_refuse_a_bad_name_or_version(registry: ModelRegistry, bad: str) -> None:
    for change in (registry.promote, registry.shadow, registry.retire, registry.get):
        with pytest.raises(RegistryError, match=re.escape(f"model name {bad!r}")):
            change(bad, "v1")
        with pytest.raises(RegistryError, match=re.escape(f"model version {bad!r}")):
            change("ovirx-test", bad)


def test_an_index_entry_pointing_outside_the_registry_is_refused(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    idx = registry.index()
    idx.entries[0].path = "../outside"
    idx.entries[0].status = "active"
    (registry.root / "registry.json").write_bytes(msgspec.json.encode(idx))
    outside = registry.root.parent / "outside"
    shutil.copytree(registry.model_dir(idx.entries[1]), outside)
    with pytest.raises(RegistryError, match=re.escape("'../outside'")):
        registry.load(idx.entries[0], FEATURE_NAMES)
    predictor, loaded = load_predictor(registry, FEATURE_NAMES)
    assert loaded is None
    assert "'../outside'" in predictor.load_error


def test_plain_names_with_dots_dashes_and_underscores_are_accepted(
    model_dir: Path, tmp_path: Path
) -> None:
    reg = ModelRegistry(tmp_path / "models")
    entry = reg.register(versioned(model_dir, tmp_path, "v1.2_rc-3"))
    assert reg.promote("ovirx-test", "v1.2_rc-3").status == "active"
    assert reg.model_dir(entry) == reg.root / "ovirx-test" / "v1.2_rc-3"


def test_a_manifest_file_name_that_leaves_the_model_directory_is_refused(
    model_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    shutil.copytree(model_dir, src)
    m = load_manifest(src / "manifest.json")
    save_manifest(msgspec.structs.replace(m, file="../model.onnx"), src / "manifest.json")
    shutil.copyfile(src / "model.onnx", tmp_path / "model.onnx")
    with pytest.raises(RegistryError, match=re.escape("model file '../model.onnx'")):
        ModelRegistry(tmp_path / "models").register(src)


def test_loading_warms_the_onnx_model_up_on_rows_from_its_manifest(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bitunix.ml.registry as registry_module

    seen: list[int] = []
    real = registry_module.OnnxScorer

    def spy(path: Path, n: int, *, warmup_rows: np.ndarray | None = None) -> OnnxScorer:
        assert warmup_rows is not None
        seen.append(len(warmup_rows))
        return real(path, n, warmup_rows=warmup_rows)

    monkeypatch.setattr(registry_module, "OnnxScorer", spy)
    registry.promote("ovirx-test", "v1")
    registry.load_status("active", FEATURE_NAMES)
    assert seen == [64]
