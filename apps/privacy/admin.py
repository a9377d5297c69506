"""GDPR in the admin: the customer list gains "Export data (JSON)" (Managers and the Admin) and "Erase"
(the Admin only, after a confirmation page). The customer admin is extended here, like Django's UserAdmin is,
so that the customers app does not depend on the privacy app."""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import MANAGERS
from apps.customers.admin import CustomerAdmin
from apps.customers.models import Customer
from apps.privacy.services import customer_erase, customer_export

admin.site.unregister(Customer)


@admin.register(Customer)
class PrivacyCustomerAdmin(CustomerAdmin):
    actions = ("export_customers", "erase_customers")

    def has_export_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, MANAGERS)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Export data (JSON)", permissions=["export"])
    def export_customers(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse:
        ip_address = request.META.get("REMOTE_ADDR")
        documents = [customer_export(customer=c, actor=request.user, ip_address=ip_address) for c in queryset]
        body = documents[0] if len(documents) == 1 else documents
        name = f"customer-{queryset[0].pk}.json" if len(documents) == 1 else "customers.json"
        response = HttpResponse(json.dumps(body, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Erase (GDPR): anonymise, keep aggregate figures", permissions=["erase"])
    def erase_customers(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase customers",
                "customers": list(queryset),
                "cancel_url": reverse("admin:customers_customer_changelist"),
            }
            return TemplateResponse(request, "admin/privacy/erase_confirm.html", context)
        ip_address = request.META.get("REMOTE_ADDR")
        for customer in queryset:
            summary = customer_erase(customer=customer, actor=request.user, ip_address=ip_address)
            self.message_user(
                request,
                f"Customer #{customer.pk} erased: {summary.messages_erased} messages erased, "
                f"{summary.messages_redacted} replies redacted, {summary.training_examples_deleted} training "
                "examples deleted.",
                messages.SUCCESS,
            )
        return None
