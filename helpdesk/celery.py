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
