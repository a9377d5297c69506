"""Data for the registry's tests: the small intent set stored as examples, and versions without training."""

from pathlib import Path

from apps.assistant.models import ModelKind, ModelVersion, RegisteredModel
from apps.assistant.registry import model_version_complete, model_version_create, registered_model_ensure
from apps.assistant.services import LabelledText, training_examples_import
from tests.assistant.conftest import INTENT_EXAMPLES


def intent_examples_store(examples: dict[str, list[str]] = INTENT_EXAMPLES) -> int:
    """``examples`` ({label: texts}) as accepted intent examples; returns how many were new."""
    rows = [LabelledText(text=text, label=label) for label, texts in examples.items() for text in texts]
    new, _ = training_examples_import(kind=ModelKind.INTENT, examples=rows, source="import")
    return new


def intent_model() -> RegisteredModel:
    return registered_model_ensure(name="intent", kind=ModelKind.INTENT)


def version_ready(model: RegisteredModel, scratch: Path, accuracy: float = 0.9) -> ModelVersion:
    """A ready version whose artifact is one small file: enough for alias moves and checksum checks."""
    version = model_version_create(
        model=model, parameters={}, created_by=None, training_size=0, data_fingerprint="", code_version="test"
    )
    folder = scratch / f"files-{version.version}"
    (folder / "nested").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (folder / "nested" / "intent.json").write_text('{"labels": ["a", "b"]}')
    return model_version_complete(
        version=version, folder=folder, metrics={"accuracy": accuracy, "macro_f1": accuracy - 0.01}
    )
