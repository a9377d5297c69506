"""Existing examples count as reviewed when they were made; schedules the learning loop's beat job (every 15
minutes: collect ratings, retrain when enough new examples were accepted, run the promotion gate), which can be
changed or paused under Periodic tasks in the admin."""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

TASK_NAME = "Assistant: learning loop (retrain on new feedback, shadow, promotion gate)"
TASK = "apps.assistant.tasks.learning_loop_tick"
EVERY_MINUTES = 15


def backfill_and_schedule(apps, schema_editor):
    apps.get_model("assistant", "TrainingExample").objects.update(status_changed_at=F("created_at"))
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    every, _ = IntervalSchedule.objects.get_or_create(every=EVERY_MINUTES, period="minutes")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "queue": "training",
            "description": "Turns conversation ratings into review items, trains a candidate of each model when "
            "enough new accepted examples exist (Learning loop settings), compares it with the champion on the "
            "held-out split, runs it in shadow as challenger, and promotes it when it passes the gate.",
        },
    )
    _tell_a_running_beat(apps)


def _tell_a_running_beat(apps):
    # The DatabaseScheduler reloads its schedule when this stamp moves; historical models send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    _tell_a_running_beat(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("assistant", "0008_learning_loop"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(backfill_and_schedule, unschedule)]
