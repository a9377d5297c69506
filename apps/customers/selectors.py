from django.db.models import Q, QuerySet

from apps.customers.models import Customer


def customer_list(*, query: str = "") -> QuerySet[Customer]:
    """Customers, newest first; ``query`` narrows to those whose name, email or external id contains it."""
    customers = Customer.objects.all()
    query = query.strip()
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(email__icontains=query) | Q(external_id__icontains=query)
        )
    return customers
