"""Serving follows the champion alias without a restart, and a broken artifact never stops the service."""

import shutil

import pytest

from apps.assistant.inference import intent_predict
from apps.assistant.ml.intent import IntentModel, IntentTrainingConfig, train_intent_model
from apps.assistant.models import ModelAlias
from apps.assistant.registry import (
    artifact_folder,
    model_version_complete,
    model_version_create,
    model_version_promote,
    model_version_rollback,
)
from apps.assistant.serving import ChampionCache
from tests.assistant.conftest import INTENT_EXAMPLES
from tests.assistant.registry_helpers import intent_model

pytestmark = pytest.mark.django_db


def _trained_version(model, scratch, *, labels_from: dict[str, list[str]]):
    texts = [text for texts in labels_from.values() for text in texts]
    labels = [label for label, texts in labels_from.items() for _ in texts]
    trained = train_intent_model(texts, labels, config=IntentTrainingConfig(mode="head", epochs=3))
    version = model_version_create(
        model=model, parameters={}, created_by=None, training_size=len(texts), data_fingerprint="", code_version="t"
    )
    folder = scratch / f"v{version.version}"
    trained.save(folder)
    return model_version_complete(version=version, folder=folder, metrics={"accuracy": 1.0})


@pytest.fixture
def two_versions(tiny_encoder, settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "store"
    model = intent_model()
    first = _trained_version(model, tmp_path, labels_from=INTENT_EXAMPLES)
    # The second knows one more intent, so which one serves shows in its labels.
    second = _trained_version(model, tmp_path, labels_from={**INTENT_EXAMPLES, "oos": ["tell me a joke", "pizza"]})
    return model, first, second


def test_nothing_serves_before_a_champion_exists(tiny_encoder, settings, tmp_path):
    settings.MODEL_STORE = tmp_path

    assert ChampionCache("intent", loader=IntentModel.load).current().model is None


def test_a_promotion_and_a_rollback_are_picked_up_without_a_restart(two_versions, admin_ada):
    model, first, second = two_versions
    cache = ChampionCache("intent", loader=IntentModel.load)
    model_version_promote(version=first, actor=admin_ada, reason="first")

    assert cache.current().version == first
    assert "oos" not in cache.current().model.labels

    model_version_promote(version=second, actor=admin_ada, reason="better")
    assert cache.current().version == second
    assert "oos" in cache.current().model.labels

    model_version_rollback(model=model, actor=admin_ada, reason="worse in production")
    assert cache.current().version == first
    assert "oos" not in cache.current().model.labels


def test_the_model_is_loaded_once_per_version(two_versions, admin_ada, django_assert_num_queries):
    _, first, _ = two_versions
    cache = ChampionCache("intent", loader=IntentModel.load)
    model_version_promote(version=first, actor=admin_ada, reason="first")
    loaded = cache.current().model

    with django_assert_num_queries(1):
        again = cache.current().model

    assert again is loaded


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_broken_artifact_keeps_the_previous_version_serving(two_versions, admin_ada, damage):
    _, first, second = two_versions
    cache = ChampionCache("intent", loader=IntentModel.load)
    model_version_promote(version=first, actor=admin_ada, reason="first")
    cache.current()
    folder = artifact_folder(second)
    if damage == "corrupt":
        (folder / "head.pt").write_bytes(b"not a model")
    else:
        shutil.rmtree(folder)

    model_version_promote(version=second, actor=admin_ada, reason="new")
    served = cache.current()

    assert served.version == first
    assert served.model is not None
    expected = "checksum mismatch" if damage == "corrupt" else "artifact missing"
    assert expected in served.load_error
    assert f"intent v{second.version}" in served.load_error


def test_intent_predict_uses_the_champion_in_batches(two_versions, admin_ada):
    _, first, _ = two_versions
    model_version_promote(version=first, actor=admin_ada, reason="first")

    predictions, version = intent_predict(["where is my new card", "my transfer is pending"])

    assert version == first
    assert len(predictions) == 2
    assert all(p.best_guess in INTENT_EXAMPLES for p in predictions)


def test_a_model_whose_champion_is_gone_stops_serving(two_versions, admin_ada):
    # Given a champion loaded in this process
    model, first, _ = two_versions
    cache = ChampionCache("intent", loader=IntentModel.load)
    model_version_promote(version=first, actor=admin_ada, reason="first")
    assert cache.current().version == first
    # When the database no longer has a champion (a restore of an older backup; a test's fresh database)
    ModelAlias.objects.filter(model=model).delete()
    # Then nothing serves, rather than a model the registry no longer vouches for
    served = cache.current()
    assert (served.model, served.version) == (None, None)
