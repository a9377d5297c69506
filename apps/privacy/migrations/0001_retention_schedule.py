"""Schedules the retention policy's beat job (daily at 03:15 in TIME_ZONE); it does nothing until
HELPDESK_RETENTION_DAYS is set. The Admin can change or pause it under Periodic tasks."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Privacy: anonymise conversations past retention"
TASK = "apps.privacy.tasks.apply_retention"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "crontab": nightly,
            "interval": None,
            "enabled": True,
            "description": "Closed conversations older than HELPDESK_RETENTION_DAYS anonymised (0: kept forever).",
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
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(schedule, unschedule)]
