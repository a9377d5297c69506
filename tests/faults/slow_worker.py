"""The Celery app of the fault tests' doomed worker: helpdesk's own, except that analyse_message, once it has
read its message and before it stores anything, touches the file named by HELPDESK_TEST_ANALYSIS_HOLD_MARKER
and holds for a minute. A test kills the worker while it holds: mid-task, deterministically, with no sleep
in the application's code. Started as ``celery -A tests.faults.slow_worker worker``.
"""

import os
import time
from pathlib import Path

import django

from helpdesk.celery import app
from tests.faults.real_services import HOLD_MARKER_ENV

django.setup()  # the analysis module needs the app registry; Celery's own setup later finds it done

from apps.assistant import analysis  # noqa: E402

HOLD_SECONDS = 60
_decide = analysis.decide


def _decide_then_hold(*args, **kwargs):
    decided = _decide(*args, **kwargs)
    Path(os.environ[HOLD_MARKER_ENV]).touch()
    time.sleep(HOLD_SECONDS)
    return decided


analysis.decide = _decide_then_hold

__all__ = ["app"]
