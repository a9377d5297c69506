from django.db import models


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
