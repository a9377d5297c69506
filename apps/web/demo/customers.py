"""The bank's demo customers, ``demo-0001`` onwards; customer N is the same person whatever the count."""

import random
import unicodedata
from datetime import datetime, timedelta

from apps.customers.models import Customer
from apps.web.demo.backdate import fields_write
from apps.web.demo.catalogue import NamePool, name_pools

EXTERNAL_ID_PREFIX = "demo-"

# Where the bank's customers live (it serves the UK and the EEA), and which tiers and life stages they're in.
COUNTRY_WEIGHTS = {"GB": 62, "IE": 8, "DE": 7, "FR": 6, "ES": 5, "PL": 5, "NL": 4, "IT": 3}
TIER_WEIGHTS = {"standard": 65, "plus": 25, "premium": 10}
SEGMENT_WEIGHTS = {
    "young_professional": 30,
    "student": 15,
    "family": 20,
    "frequent_traveller": 15,
    "freelancer": 10,
    "retiree": 10,
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def demo_external_id(number: int) -> str:
    return f"{EXTERNAL_ID_PREFIX}{number:04d}"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _customer_build(*, seed: int, number: int, pools: dict[str, NamePool], now: datetime) -> Customer:
    rng = random.Random(f"{seed}:customer:{number}")
    pool = pools[_pick(rng, COUNTRY_WEIGHTS)]
    first, last = rng.choice(pool.first_names), rng.choice(pool.last_names)
    # Customers abroad often keep the app in English.
    locale = pool.locale if pool.locale == "en" or rng.random() < 0.4 else "en"
    joined = now - timedelta(days=rng.randint(95, 3 * 365), minutes=rng.randint(0, 24 * 60))
    customer = Customer(
        external_id=demo_external_id(number),
        name=f"{first} {last}",
        email=f"{_ascii(first)}.{_ascii(last)}{number}@{rng.choice(EMAIL_DOMAINS)}",
        locale=locale,
        attributes={
            "tier": _pick(rng, TIER_WEIGHTS),
            "segment": _pick(rng, SEGMENT_WEIGHTS),
            "country": pool.country,
            "app_platform": rng.choice(("ios", "ios", "android", "android", "android", "web")),
            "customer_since": joined.date().isoformat(),
        },
        consent_marketing=rng.random() < 0.4,
        consent_model_training=rng.random() < 0.85,
    )
    customer.created_at = joined
    return customer


def customers_ensure(*, seed: int, count: int, now: datetime) -> int:
    """Create the demo customers 1..count that don't exist yet; returns how many were created."""
    pools = {pool.country: pool for pool in name_pools()}
    wanted = [demo_external_id(number) for number in range(1, count + 1)]
    existing = set(Customer.objects.filter(external_id__in=wanted).values_list("external_id", flat=True))
    new = [
        _customer_build(seed=seed, number=number, pools=pools, now=now)
        for number, external_id in enumerate(wanted, start=1)
        if external_id not in existing
    ]
    joined = [customer.created_at for customer in new]
    Customer.objects.bulk_create(new, batch_size=500)
    # created_at is auto_now_add, so bulk_create stamped it with the current time; put the join dates back.
    for customer, joined_at in zip(new, joined, strict=True):
        customer.created_at = joined_at
    fields_write(new, ["created_at"])
    return len(new)


def demo_customers() -> list[Customer]:
    return list(Customer.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).order_by("external_id"))
