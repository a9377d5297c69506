"""A small catalogue with two kinds of customers (travellers and savers) and a year of their interactions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.customers.models import Customer
from apps.knowledge.models import Article
from apps.recommendations.models import Interaction, Product
from tests.assistant.conftest import tiny_encoder_path  # noqa: F401 (the session's tiny BERT)

TRAVEL = ["travel-insurance", "lounge-pass", "fx-card", "roaming-pack"]
SAVING = ["isa-account", "fixed-bond", "round-ups", "pension-plan"]


@pytest.fixture
def tiny_encoder(settings, tiny_encoder_path, tmp_path):  # noqa: F811
    settings.HELPDESK_ENCODER_PATH = str(tiny_encoder_path)
    settings.MODEL_STORE = tmp_path / "models"
    return tiny_encoder_path


@pytest.fixture
def catalogue(db) -> dict[str, Product | Article]:
    items = {}
    for slug in TRAVEL:
        items[slug] = Product.objects.create(
            name=slug.replace("-", " ").title(), slug=slug, category="travel", description=f"card travel {slug}"
        )
    for slug in SAVING:
        items[slug] = Product.objects.create(
            name=slug.replace("-", " ").title(), slug=slug, category="savings", description=f"account balance {slug}"
        )
    items["card-article"] = Article.objects.create(
        title="Where is my new card", slug="where-is-my-card", body="Cards arrive in 5 days.", intents=["card_arrival"]
    )
    items["transfer-article"] = Article.objects.create(
        title="Pending transfers", slug="pending-transfers", body="Transfers take a day.", intents=["pending_transfer"]
    )
    return items


@pytest.fixture
def history(catalogue) -> dict[str, list[Customer]]:
    """16 travellers and 16 savers; each viewed three of their group's four products (a different one left out)
    and nobody touched the other group's; the first product of each group is the most viewed."""
    start = timezone.now() - timedelta(days=200)
    groups = {"travel": TRAVEL, "saving": SAVING}
    customers: dict[str, list[Customer]] = {name: [] for name in groups}
    rows = []
    for name, slugs in groups.items():
        for index in range(16):
            customer = Customer.objects.create(external_id=f"{name}-{index}", name=f"{name} {index}")
            customers[name].append(customer)
            left_out = slugs[1 + index % 3]  # never the group's first product
            for day, slug in enumerate(slug for slug in slugs if slug != left_out):
                when = start + timedelta(days=index * 5 + day)
                rows.append(
                    Interaction(
                        customer=customer, product=catalogue[slug], action="view", source="import", occurred_at=when
                    )
                )
    Interaction.objects.bulk_create(rows)
    return customers
