"""Following a registered model's alias in a process: each version loaded once, reloaded when the alias moves,
a broken artifact never replacing the version that serves. Torch-free: the loader decides what a version's folder
becomes (inference.py's caches load torch models in workers; the recommender's loads numpy arrays anywhere)."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.assistant.models import ModelAlias, ModelVersion
from apps.assistant.registry import ArtifactError, model_version_load_checked

logger = logging.getLogger(__name__)

# Every cache made in this process, so tests (and anything else) can forget what they loaded.
caches: list["ChampionCache"] = []


@dataclass
class Served:
    model: Any = None
    version: ModelVersion | None = None
    load_error: str = ""


class ChampionCache:
    """The champion (or another alias, e.g. the challenger run in shadow) of one registered model, as loaded in
    this process."""

    def __init__(self, model_name: str, loader: Callable[[Path], Any], alias: str = ModelAlias.Name.CHAMPION) -> None:
        self.model_name = model_name
        self.loader = loader  # reads a version's folder into the model it serves
        self.alias = alias
        caches.append(self)
        self.served = Served()
        self._lock = threading.Lock()

    def current(self) -> Served:
        alias = (
            ModelAlias.objects.select_related("version__model")
            .filter(model__name=self.model_name, alias=self.alias)
            .first()
        )
        if alias is None:
            # No such alias in this database (its model was deleted, never promoted, the challenger cleared):
            # serve nothing rather than a model the registry no longer vouches for.
            if self.served.version is not None:
                self.reset()
            return self.served
        if alias.version_id == getattr(self.served.version, "pk", None):
            return self.served
        with self._lock:
            if alias.version_id != getattr(self.served.version, "pk", None):
                self._load(alias.version)
        return self.served

    def reset(self) -> None:
        """Forget the loaded model; the next call loads the champion again."""
        with self._lock:
            self.served = Served()

    def _load(self, version: ModelVersion) -> None:
        try:
            model = self.loader(model_version_load_checked(version))
        except (ArtifactError, OSError, ValueError, KeyError) as exc:
            message = f"{version} could not be loaded: {exc}"
            logger.error("%s; still serving %s", message, self.served.version or "nothing")
            self.served = Served(self.served.model, self.served.version, load_error=message)
            return
        logger.info("serving %s (was %s)", version, self.served.version or "nothing")
        self.served = Served(model, version)
