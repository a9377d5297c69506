"""What the bank publishes: help-centre articles, products, and the replies agents insert with a shortcut."""

from apps.accounts.models import Team
from apps.conversations.models import CannedReply
from apps.knowledge.services import article_save
from apps.recommendations.models import Product
from apps.web.demo.catalogue import article_specs, canned_reply_specs, product_specs


def articles_ensure() -> int:
    """Save every article of articles.jsonl; an unchanged article keeps its version. Returns how many."""
    for spec in article_specs():
        article_save(title=spec.title, body=spec.body, slug=spec.slug, tags=list(spec.tags), intents=list(spec.intents))
    return len(article_specs())


def products_ensure() -> int:
    """Create or update the catalogue; returns how many products were new."""
    created = 0
    for spec in product_specs():
        _, was_created = Product.objects.update_or_create(
            slug=spec.slug,
            defaults={"name": spec.name, "category": spec.category, "description": spec.description, "active": True},
        )
        created += was_created
    return created


def canned_replies_ensure(*, teams: dict[str, Team]) -> int:
    created = 0
    for spec in canned_reply_specs():
        _, was_created = CannedReply.objects.update_or_create(
            shortcut=spec.shortcut,
            defaults={
                "title": spec.title,
                "text": spec.text,
                "team": teams[spec.team_slug] if spec.team_slug else None,
            },
        )
        created += was_created
    return created
