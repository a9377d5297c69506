from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars

from apps.recommendations.models import Interaction, Product
from helpdesk.admin_base import AppendOnlyAdminMixin


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


@admin.register(Interaction)
class InteractionAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """What customers did with articles and products, written by the host site, the widget, the inbox and
    imports, and only read here. The header gives the click-through rate of the rows the filters leave."""

    list_display = ("occurred_at", "customer", "action", "item", "source", "conversation")
    list_filter = ("action", "source", "occurred_at")
    list_select_related = ("customer", "article", "product")
    search_fields = ("customer__name", "customer__external_id", "product__name", "article__title", "external_id")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("customer", "conversation")

    @admin.display(description="item")
    def item(self, interaction: Interaction) -> str:
        return str(interaction.article or interaction.product)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            counts = dict(changelist.queryset.values_list("action").annotate(n=Count("pk")).values_list("action", "n"))
            shown, clicked = counts.get("shown", 0), counts.get("click", 0)
            rate = f"{clicked / shown:.1%}" if shown else "no recommendation shown"
            response.context_data["subtitle"] = f"Click-through {rate}: {clicked} clicks of {shown} shown."
        return response
