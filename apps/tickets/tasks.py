"""Celery tasks of the tickets (the default queue)."""

from celery import shared_task

from apps.tickets import sla_services


@shared_task(name="apps.tickets.tasks.sla_breaches_escalate", acks_late=True)
def sla_breaches_escalate() -> int:
    """The beat job (every minute, a PeriodicTask made by migration 0003): records and escalates the breaches
    due by now. A redelivery or an overlapping run escalates nothing twice. Returns how many it escalated."""
    return sla_services.sla_breaches_escalate()
