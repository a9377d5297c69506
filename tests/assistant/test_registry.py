"""The registry: training into versions, artifacts and their checksums, and alias moves with their history."""

import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.assistant import jobs, training
from apps.assistant.examples import data_fingerprint, examples_split, is_held_out, labelled_examples
from apps.assistant.jobs import training_enqueue
from apps.assistant.models import AliasChange, ModelAlias, ModelVersion
from apps.assistant.registry import (
    ArtifactError,
    artifact_sha256,
    challenger_set,
    code_version_current,
    model_version_complete,
    model_version_load_checked,
    model_version_promote,
    model_version_rollback,
)
from apps.assistant.selectors import model_alias_version
from apps.assistant.services import example_text_sha256
from apps.assistant.training import model_version_train
from apps.assistant.training_tasks import train_model_version
from helpdesk.celery import app as celery_app
from tests.assistant.conftest import INTENT_EXAMPLES
from tests.assistant.registry_helpers import intent_examples_store, intent_model, version_ready
from tests.celery_worker import NEEDS_WORKER_REASON, celery_worker, worker_can_run

pytestmark = pytest.mark.django_db

SCALAR_METRICS = {
    "accuracy",
    "macro_f1",
    "top1_accuracy",
    "answered_share",
    "n",
    "training_seconds",
    "epochs",
    "validation_accuracy",
}


@pytest.fixture(autouse=True)
def model_store(settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "models"
    return settings.MODEL_STORE


def champion_history(model) -> list[tuple[int | None, int | None, str]]:
    changes = AliasChange.objects.filter(model=model, alias="champion").order_by("pk")
    return [
        (
            change.from_version.version if change.from_version else None,
            change.to_version.version if change.to_version else None,
            change.reason,
        )
        for change in changes
    ]


def test_training_registers_a_ready_version_with_metrics_and_checksum_and_makes_it_champion(
    tiny_encoder, model_store, mladmin_mo
):
    intent_examples_store()

    version = model_version_train(fast=True, actor=mladmin_mo)

    version.refresh_from_db()
    assert (version.model.name, version.version, version.status) == ("intent", 1, ModelVersion.Status.READY)
    assert set(version.metrics) >= SCALAR_METRICS
    # One of the 18 texts falls in the held-out split (by its hash); the other 17 train.
    assert (version.metrics["n"], version.training_size) == (1, 17)
    assert version.metrics["labels"] == sorted(version.metrics["per_label"])
    assert len(version.metrics["confusion"]) == len(version.metrics["labels"])
    assert 0 <= version.metrics["accuracy"] <= 1
    folder = model_store / "intent" / "1"
    assert version.artifact_path == "intent/1"
    assert {path.name for path in folder.iterdir()} == {"intent.json", "head.pt"}
    assert version.artifact_sha256 == artifact_sha256(folder)
    assert model_version_load_checked(version) == folder
    assert [path.name for path in (model_store / "intent").iterdir()] == ["1"]  # no staging folder left
    assert version.data_fingerprint == data_fingerprint(labelled_examples(kind="intent"))
    assert version.parameters["config"]["mode"] == "head"
    assert version.parameters["fast"] is True
    assert version.code_version == code_version_current()
    assert version.created_by == mladmin_mo
    assert version.notes.startswith("Trained in ")
    assert model_alias_version(model=version.model, alias="champion") == version
    assert champion_history(version.model) == [(None, 1, "first ready version of intent")]
    assert AliasChange.objects.get().actor == mladmin_mo


def test_a_second_training_does_not_replace_the_champion(tiny_encoder, model_store):
    intent_examples_store()
    first = model_version_train(fast=True, actor=None)

    second = model_version_train(fast=False, actor=None)

    assert (second.version, second.status) == (2, ModelVersion.Status.READY)
    assert second.parameters["config"]["mode"] == "finetune"
    assert (model_store / "intent" / "2" / "encoder" / "config.json").exists()
    assert model_alias_version(model=first.model, alias="champion") == first
    assert AliasChange.objects.count() == 1


def test_code_version_is_the_git_commit_or_unknown(settings, tmp_path):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert code_version_current() == (head.stdout.strip() if head.returncode == 0 else "unknown")

    settings.BASE_DIR = tmp_path  # not a checkout

    assert code_version_current() == "unknown"


def test_a_failed_training_marks_the_version_failed_and_raises_again(tiny_encoder, model_store, monkeypatch):
    intent_examples_store()

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(training, "train_intent_model", broken)

    with pytest.raises(RuntimeError, match="out of memory"):
        model_version_train(fast=True, actor=None)

    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.FAILED
    assert version.notes == "Training failed: RuntimeError: out of memory"
    assert (version.artifact_sha256, version.metrics) == ("", {})
    assert not ModelAlias.objects.exists()
    assert not any(model_store.rglob("*"))  # the half-written model was removed


def test_training_refuses_data_with_fewer_than_two_labels_before_registering_anything(tiny_encoder):
    intent_examples_store({"card_arrival": INTENT_EXAMPLES["card_arrival"]})

    with pytest.raises(ValidationError, match=r"at least two labels.*found 1 \(card_arrival\)"):
        model_version_train(fast=True, actor=None)

    assert not ModelVersion.objects.exists()


def test_the_held_out_split_stays_the_same_when_examples_are_added():
    intent_examples_store()
    before_training, before_held_out = examples_split(labelled_examples(kind="intent"))

    intent_examples_store({"refund": [f"refund request number {n}" for n in range(60)]})  # 60 more
    after_training, after_held_out = examples_split(labelled_examples(kind="intent"))

    assert {e.text for e in before_held_out} <= {e.text for e in after_held_out}
    assert {e.text for e in before_training} <= {e.text for e in after_training}
    new_held_out = [e for e in after_held_out if e.label == "refund"]
    assert 0 < len(new_held_out) < 20  # about 10 % of 60
    # Case and spacing do not move a text between the splits: the split follows the normalised text's hash.
    assert is_held_out(example_text_sha256("My card was STOLEN ")) == is_held_out(
        example_text_sha256("my card was stolen")
    )


def test_versions_are_numbered_per_model(tmp_path):
    model = intent_model()

    numbers = [version_ready(model, tmp_path).version for _ in range(3)]

    assert numbers == [1, 2, 3]


def test_promote_and_rollback_move_the_champion_and_write_the_history(tmp_path, mladmin_mo):
    model = intent_model()
    v1, v2, v3 = (version_ready(model, tmp_path) for _ in range(3))
    model_version_promote(version=v1, actor=mladmin_mo, reason="first")
    model_version_promote(version=v2, actor=mladmin_mo, reason="better macro-F1")
    model_version_promote(version=v3, actor=mladmin_mo, reason="newer data")

    model_version_rollback(model=model, actor=mladmin_mo, reason="v3 misroutes refunds")

    assert model_alias_version(model=model, alias="champion") == v2
    assert champion_history(model) == [
        (None, 1, "first"),
        (1, 2, "better macro-F1"),
        (2, 3, "newer data"),
        (3, 2, "rollback from v3: v3 misroutes refunds"),
    ]
    assert AliasChange.objects.first().actor == mladmin_mo

    # A second rollback undoes the first.
    model_version_rollback(model=model, actor=mladmin_mo, reason="")

    assert model_alias_version(model=model, alias="champion") == v3
    assert champion_history(model)[-1] == (2, 3, "rollback from v2")


def test_rollback_refuses_without_a_previous_champion(tmp_path):
    model = intent_model()
    v1 = version_ready(model, tmp_path)

    with pytest.raises(ValidationError, match="intent has no champion to roll back"):
        model_version_rollback(model=model, actor=None, reason="")

    model_version_promote(version=v1, actor=None, reason="first")

    with pytest.raises(ValidationError, match=r"no previous champion to roll back to \(intent v1 was the first\)"):
        model_version_rollback(model=model, actor=None, reason="")
    assert model_alias_version(model=model, alias="champion") == v1
    assert AliasChange.objects.count() == 1


def test_rollback_refuses_a_previous_champion_that_is_no_longer_ready(tmp_path):
    model = intent_model()
    v1, v2 = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=v1, actor=None, reason="")
    model_version_promote(version=v2, actor=None, reason="")
    ModelVersion.objects.filter(pk=v1.pk).update(status=ModelVersion.Status.FAILED)

    with pytest.raises(ValidationError, match="previous champion intent v1 is failed"):
        model_version_rollback(model=model, actor=None, reason="")

    assert model_alias_version(model=model, alias="champion") == v2


def test_promoting_the_challenger_clears_the_challenger(tmp_path, mladmin_mo):
    model = intent_model()
    v1, v2 = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=v1, actor=mladmin_mo, reason="first")
    challenger_set(version=v2, actor=mladmin_mo, reason="shadow it")

    model_version_promote(version=v2, actor=mladmin_mo, reason="won in shadow")

    assert model_alias_version(model=model, alias="champion") == v2
    assert model_alias_version(model=model, alias="challenger") is None
    challenger_moves = AliasChange.objects.filter(alias="challenger").order_by("pk")
    assert [(c.from_version_id, c.to_version_id, c.reason) for c in challenger_moves] == [
        (None, v2.pk, "shadow it"),
        (v2.pk, None, "promoted: won in shadow"),
    ]


def test_the_champion_cannot_also_be_the_challenger(tmp_path):
    model = intent_model()
    v1 = version_ready(model, tmp_path)
    model_version_promote(version=v1, actor=None, reason="")

    with pytest.raises(ValidationError, match="intent v1 is the champion"):
        challenger_set(version=v1, actor=None, reason="")

    assert not ModelAlias.objects.filter(alias="challenger").exists()


def test_an_edited_artifact_file_fails_the_checksum(tmp_path, model_store):
    version = version_ready(intent_model(), tmp_path)
    (model_store / "intent" / "1" / "nested" / "intent.json").write_text('{"labels": ["a", "c"]}')

    with pytest.raises(ArtifactError, match=r"^intent v1: checksum mismatch at .*intent/1 \(registered "):
        model_version_load_checked(version)


def test_an_added_or_removed_file_fails_the_checksum(tmp_path, model_store):
    version = version_ready(intent_model(), tmp_path)
    folder = model_store / "intent" / "1"
    (folder / "extra.txt").write_text("x")

    with pytest.raises(ArtifactError, match="checksum mismatch"):
        model_version_load_checked(version)

    (folder / "extra.txt").unlink()
    assert model_version_load_checked(version) == folder
    (folder / "weights.bin").unlink()

    with pytest.raises(ArtifactError, match="checksum mismatch"):
        model_version_load_checked(version)


def test_a_missing_artifact_folder_is_a_clear_error(tmp_path, model_store):
    version = version_ready(intent_model(), tmp_path)
    shutil.rmtree(model_store / "intent" / "1")

    with pytest.raises(ArtifactError, match=f"^intent v1: artifact missing at {model_store / 'intent' / '1'}$"):
        model_version_load_checked(version)


def test_a_version_in_training_has_nothing_to_load():
    version = ModelVersion.objects.create(model=intent_model(), version=1)

    with pytest.raises(ArtifactError, match=r"intent v1: no artifact to load \(status training\)"):
        model_version_load_checked(version)


def test_the_training_task_goes_to_the_training_queue():
    route = celery_app.amqp.router.route({}, train_model_version.name, args=(1,), kwargs={})

    assert train_model_version.name == "apps.assistant.tasks.train_model_version"
    assert route["queue"].name == "training"


def test_the_assistant_tasks_module_registers_the_training_task(settings):
    # A fresh process, as a worker starts: here this test module has imported training_tasks already.
    code = (
        "import django; django.setup(); from helpdesk.celery import app; app.loader.import_default_modules(); "
        "print('apps.assistant.tasks.train_model_version' in app.tasks)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR, env=env, timeout=120
    )

    assert result.stdout.strip() == "True", result.stderr[-2000:]


def test_training_enqueue_runs_the_task_after_commit_and_reports_progress(
    tiny_encoder, django_capture_on_commit_callbacks, monkeypatch, mladmin_mo
):
    intent_examples_store()
    states = []
    monkeypatch.setattr(train_model_version, "update_state", lambda **kwargs: states.append(kwargs))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        version = training_enqueue(model=intent_model(), fast=True, actor=mladmin_mo)

    assert version.status == ModelVersion.Status.TRAINING  # nothing ran before the commit
    assert not states

    for callback in callbacks:
        callback()

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY
    assert states[0] == {"state": "PROGRESS", "meta": {"fraction": 0.0, "note": "preparing 17 examples"}}
    assert states[-1]["meta"] == {"fraction": 0.9, "note": "evaluating on 1 held-out examples"}
    assert all(state["state"] == "PROGRESS" for state in states)


def test_a_redelivered_training_task_leaves_a_finished_version_alone(tmp_path):
    version = version_ready(intent_model(), tmp_path)

    result = train_model_version.apply(args=(version.pk,)).get()

    assert result == {"version_id": version.pk, "status": "ready", "skipped": True}
    assert ModelVersion.objects.get().artifact_sha256 == version.artifact_sha256


def test_a_redelivered_training_task_leaves_a_training_still_reporting_progress_alone(tiny_encoder):
    intent_examples_store()
    version = jobs.model_version_start(fast=True, actor=None)
    ModelVersion.objects.filter(pk=version.pk).update(progress_at=timezone.now() - timedelta(minutes=5))

    result = train_model_version.apply(args=(version.pk,)).get()

    assert result["skipped"] is True
    assert result["reason"] == "training elsewhere"
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.TRAINING


def test_a_redelivered_training_task_takes_over_from_a_worker_that_died(tiny_encoder):
    intent_examples_store()
    version = jobs.model_version_start(fast=True, actor=None)
    ModelVersion.objects.filter(pk=version.pk).update(progress_at=timezone.now() - timedelta(hours=2))

    result = train_model_version.apply(args=(version.pk,)).get()

    assert result["status"] == "ready"
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY
    assert version.progress_at > timezone.now() - timedelta(minutes=5)


def test_a_version_whose_task_cannot_be_queued_is_marked_failed(
    tiny_encoder, django_capture_on_commit_callbacks, monkeypatch
):
    intent_examples_store()

    def broker_down(name, *args):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(jobs, "task_enqueue_by_name", broker_down)

    with pytest.raises(ConnectionError), django_capture_on_commit_callbacks(execute=True):
        training_enqueue(model=intent_model(), fast=True, actor=None)

    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.FAILED
    assert version.notes == "Training failed: ConnectionError: redis unreachable"


def test_completing_a_version_that_is_no_longer_training_touches_no_file(tmp_path, model_store):
    version = version_ready(intent_model(), tmp_path)
    registered = artifact_sha256(model_store / "intent" / "1")
    late = tmp_path / "late-duplicate"
    late.mkdir()
    (late / "weights.bin").write_bytes(b"other")

    with pytest.raises(ValidationError, match="intent v1 is ready, not training"):
        model_version_complete(version=version, folder=late, metrics={})

    assert artifact_sha256(model_store / "intent" / "1") == registered
    assert model_version_load_checked(version) == model_store / "intent" / "1"


@pytest.fixture
def training_worker(tmp_path, tiny_encoder_path, model_store):
    """A real Celery worker on the training queue, sharing the test database, the tiny encoder and the store."""
    env = {"HELPDESK_ENCODER_PATH": str(tiny_encoder_path), "MODEL_STORE": str(model_store)}
    with celery_worker(queues="training", env=env) as process:
        yield process


@pytest.mark.redis
@pytest.mark.skipif(not worker_can_run(), reason=NEEDS_WORKER_REASON)
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_a_worker_on_the_training_queue_trains_the_version(training_worker, tiny_encoder, mladmin_mo):
    intent_examples_store()

    version = training_enqueue(model=intent_model(), fast=True, actor=mladmin_mo)

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and version.status == ModelVersion.Status.TRAINING:
        time.sleep(0.5)
        version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY, version.notes
    assert version.notes.startswith("Trained in ")
    assert model_alias_version(model=version.model, alias="champion") == version
    assert model_version_load_checked(version) == settings.MODEL_STORE / "intent" / "1"


def test_the_evaluation_task_goes_to_the_training_queue():
    route = celery_app.amqp.router.route({}, jobs.EVALUATE_TASK, args=(1,), kwargs={})

    assert route["queue"].name == "training"


def test_web_processes_with_workers_never_import_torch(settings):
    # With REDIS_URL, Daphne serves pages, the admin and the API and queues model work by name: loading torch
    # there would cost every web process hundreds of MB. A fresh process, as Daphne starts.
    code = (
        "import sys, django; django.setup(); import helpdesk.asgi; from django.urls import get_resolver; "
        "get_resolver().url_patterns; from django.contrib import admin; admin.autodiscover(); "
        "from helpdesk.celery import app, task_enqueue_by_name; app.send_task = lambda *a, **k: None; "
        "task_enqueue_by_name('apps.assistant.tasks.analyse_message', 1); "
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR, env=env, timeout=120
    )

    assert result.stdout.strip() == "[]", result.stdout + result.stderr[-2000:]
