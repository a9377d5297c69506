"""The Celery app. Embedded (no REDIS_URL): tasks run eagerly in the calling process. With REDIS_URL: workers.

Start workers with ``make worker`` or ``celery -A helpdesk worker -Q default,inference,training``; a GPU box
can take only ``-Q inference``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_enqueue_by_name(name: str, *args: object) -> None:
    """Queue the task called ``name``: by its registered object when this process knows it (so eager mode
    runs it in-process), else by name for whichever worker has it. Lets an app start another app's task
    without importing it, and a service start its own app's task without an import cycle."""
    # Web processes never start a worker, so the apps' tasks modules are imported here on first use.
    app.loader.import_default_modules()
    task = app.tasks.get(name)
    if task is not None:
        task.apply_async(args=args)
    else:
        app.send_task(name, args=args)
