"""Schedules the beat job that records and escalates SLA breaches (every minute); ML admins and the Admin
can change or pause it under Periodic tasks in the admin."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Tickets: record and escalate SLA breaches"
TASK = "apps.tickets.tasks.sla_breaches_escalate"
EVERY_MINUTES = 1


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=EVERY_MINUTES, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "description": "Tickets past a first-response or resolution target: record the breach once, escalate it once.",
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
        ("tickets", "0002_business_hours_breaches_merge"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
