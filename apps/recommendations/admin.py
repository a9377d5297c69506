from django.contrib import admin
from django.template.defaultfilters import truncatechars

from apps.recommendations.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "slug", "active", "short_description", "url", "created_at")
    list_filter = ("active", "category", "created_at")
    search_fields = ("name", "slug", "category", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)

    @admin.display(description="description")
    def short_description(self, product: Product) -> str:
        return truncatechars(product.description, 80)
