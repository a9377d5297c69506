from django.db import models
from django.utils import timezone


class Product(models.Model):
    """A product or service of the business that can be recommended to a customer."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField()
    category = models.CharField(max_length=100)
    url = models.CharField(max_length=500, blank=True, help_text="Where the host site shows this product.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category", "name"]
        indexes = [models.Index(fields=["active", "category"], name="product_active_category_idx")]

    def __str__(self) -> str:
        return self.name


class Interaction(models.Model):
    """One thing a customer did with a recommendable item (an article or a product): what the recommender
    learns from (implicit feedback) and what the click-through rate counts. The intents of the customer's
    conversations, the other signal, are read from their messages."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        HELPFUL = "helpful", "Found it helpful"
        NOT_HELPFUL = "not_helpful", "Did not find it helpful"
        PURCHASE = "purchase", "Purchased"
        SHOWN = "shown", "Shown as a recommendation"
        CLICK = "click", "Clicked a recommendation"
        SENT = "sent", "Sent by an agent"

    class Source(models.TextChoices):
        HOST = "host", "Host site (API)"
        WIDGET = "widget", "Chat widget"
        INBOX = "inbox", "Agents' inbox"
        IMPORT = "import", "Import"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="interactions")
    article = models.ForeignKey(
        "knowledge.Article", null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="interactions")
    action = models.CharField(max_length=12, choices=Action.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The host site's id of the event, so a retried POST or a re-imported file records it once.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(article__isnull=True, product__isnull=False)
                | models.Q(article__isnull=False, product__isnull=True),
                name="interaction_one_item",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="interaction_customer_time_idx"),
            models.Index(fields=["action", "occurred_at"], name="interaction_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.action} {self.item_key}"

    @property
    def item_key(self) -> str:
        return item_key(article_id=self.article_id, product_id=self.product_id)


def item_key(*, article_id: int | None = None, product_id: int | None = None) -> str:
    """ "article:12" or "product:7": how the recommender names an item."""
    return f"article:{article_id}" if article_id is not None else f"product:{product_id}"


def item_ids(key: str) -> tuple[int | None, int | None]:
    """(article id, product id) of a key made by item_key; ValueError for anything else."""
    kind, _, pk = key.partition(":")
    if kind not in ("article", "product") or not pk.isdigit():
        raise ValueError(f"not an item key: {key!r}")
    return (int(pk), None) if kind == "article" else (None, int(pk))
