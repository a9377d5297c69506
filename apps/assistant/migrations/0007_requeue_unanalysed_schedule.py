"""Schedules the beat job that queues again the analysis of customer messages whose task the broker lost (every
30 seconds); it can be changed or paused under Periodic tasks in the admin."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Assistant: queue again the analysis of messages the broker lost"
TASK = "apps.assistant.tasks.requeue_unanalysed"
EVERY_SECONDS = 30


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=EVERY_SECONDS, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "description": "Customer messages nobody analysed within HELPDESK_ANALYSIS_REQUEUE_AFTER seconds "
            "(a Redis restart, a failed publish, a killed worker) are analysed after all, once each.",
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
        ("assistant", "0006_rateddialogue"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
