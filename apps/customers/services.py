"""Writes of customers: validated by the model, the host site's id kept unique when given."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.customers.models import Customer
from helpdesk.text import json_is_storable

# What staff may change after creation; external_id is the host site's key and stays as created.
EDITABLE_FIELDS = ("name", "email", "locale", "attributes", "consent_marketing", "consent_model_training")


def customer_create(*, external_id: str | None = None, **fields: Any) -> Customer:
    """Create a customer from fields of EDITABLE_FIELDS; an empty ``external_id`` means none."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not settable through customer_create: {sorted(unknown)}")
    _attributes_check(fields.get("attributes"))
    # "" would make every customer without a host id collide on the unique column.
    customer = Customer(external_id=external_id or None, **fields)
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **changes: Any) -> Customer:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable through customer_update: {sorted(unknown)}")
    _attributes_check(changes.get("attributes"))
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.full_clean()
    customer.save(update_fields=[*changes, "updated_at"])
    return customer


def _attributes_check(attributes: Any) -> None:
    # The model's full_clean checks the text fields' length, not what a JSON value holds; jsonb refuses NUL.
    if attributes is not None and not json_is_storable(attributes):
        raise ValidationError({"attributes": "Attributes may not hold NUL characters or unpaired surrogates."})
