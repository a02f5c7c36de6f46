"""Hot swap: follow the registry's active model without restarting.

``ActiveModelWatcher.poll()`` re-reads the registry index (a small JSON file); when the
active model changed (promote, rollback, retire) it loads the new one *before* touching
the live Predictor and then swaps it in with one call. A model that fails to load
leaves the current one serving, and the error is reported. The app calls ``poll`` from
a timer (a few seconds), never from the tick path.
"""

from __future__ import annotations

from collections.abc import Sequence

from bitunix.ml.errors import ModelError
from bitunix.ml.registry import LoadedModel, ModelRegistry, model_id
from bitunix.ml.runtime import Predictor


class ActiveModelWatcher:
    """Keep ``predictor`` serving the registry's active model."""

    def __init__(
        self,
        registry: ModelRegistry,
        predictor: Predictor,
        feature_names: Sequence[str],
        loaded: LoadedModel | None = None,
    ) -> None:
        self.registry = registry
        self.predictor = predictor
        self.feature_names = tuple(feature_names)
        self.loaded = loaded
        self._serving = self._key(loaded)
        self.last_error = ""
        self.swaps = 0

    @staticmethod
    def _key(loaded: LoadedModel | None) -> tuple[str, str] | None:
        if loaded is None:
            return None
        return model_id(loaded.entry.name, loaded.entry.version), loaded.entry.sha256

    def poll(self) -> bool:
        """Swap when the active model changed; return True when a swap happened."""
        try:
            entry = self.registry.with_status("active")
        except ModelError as exc:
            self.last_error = str(exc)
            return False
        wanted = None if entry is None else (model_id(entry.name, entry.version), entry.sha256)
        if wanted == self._serving:
            return False
        if entry is None:
            self.predictor.swap(None)
            self.predictor.load_error = f"no active model in {self.registry.root}"
            self.loaded = None
        else:
            try:
                loaded = self.registry.load(entry, self.feature_names)
            except ModelError as exc:
                self.last_error = str(exc)
                return False
            self.predictor.swap(loaded.scorer, name=model_id(entry.name, entry.version))
            self.predictor.load_error = ""
            self.loaded = loaded
        self._serving = wanted
        self.last_error = ""
        self.swaps += 1
        return True
