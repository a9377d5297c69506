import pytest

from apps.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def dora(db) -> Customer:
    return Customer.objects.create(external_id="shop-42", name="Dora Explorer", email="DORA@example.org")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("carl", ["Carl Customer"]),
        ("EXAMPLE.ORG", ["Dora Explorer"]),
        ("shop-4", ["Dora Explorer"]),
        ("c-1", ["Carl Customer"]),
        ("example", ["Dora Explorer", "Carl Customer"]),
        ("", ["Dora Explorer", "Carl Customer"]),
        ("nobody", []),
    ],
)
def test_search_on_name_email_and_external_id(client_for, customer_carl, dora, query, names):
    response = client_for("agent_alice").get("/api/customers/", {"q": query})

    assert response.status_code == 200
    assert [row["name"] for row in response.data["results"]] == names


def test_retrieve_shape(client_for, customer_carl):
    response = client_for("manager_maria").get(f"/api/customers/{customer_carl.pk}/")

    assert response.data == {
        "id": customer_carl.pk,
        "external_id": "c-1",
        "name": "Carl Customer",
        "email": "carl@example.com",
        "locale": "en",
        "attributes": {"tier": "gold"},
        "consent_marketing": False,
        "consent_model_training": True,
        "created_at": response.data["created_at"],
        "updated_at": response.data["updated_at"],
    }


def test_create_without_external_id_twice(client_for):
    client = client_for("agent_alice")

    first = client.post("/api/customers/", {"name": "A", "external_id": ""}, format="json")
    second = client.post("/api/customers/", {"name": "B"}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.data["external_id"] is None
    assert list(Customer.objects.values_list("external_id", flat=True)) == [None, None]


def test_create_refuses_a_taken_external_id(client_for, customer_carl):
    response = client_for("agent_alice").post("/api/customers/", {"external_id": "c-1", "name": "Imposter"})

    assert response.status_code == 400
    assert "external_id" in response.data
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email"},
        {"attributes": ["not", "a", "dict"]},
        {"external_id": "c-2"},
        {"created_at": "2020-01-01T00:00:00Z"},
    ],
)
def test_patch_refuses_bad_or_unknown_fields(client_for, customer_carl, body):
    before = Customer.objects.values().get(pk=customer_carl.pk)

    response = client_for("agent_alice").patch(f"/api/customers/{customer_carl.pk}/", body, format="json")

    assert response.status_code == 400
    assert list(response.data) == list(body)
    assert Customer.objects.values().get(pk=customer_carl.pk) == before


def test_patch_changes_only_what_it_names(client_for, customer_carl):
    response = client_for("agent_alice").patch(
        f"/api/customers/{customer_carl.pk}/", {"attributes": {"tier": "silver"}, "locale": "de"}, format="json"
    )

    assert response.status_code == 200
    customer_carl.refresh_from_db()
    assert (customer_carl.attributes, customer_carl.locale, customer_carl.name) == (
        {"tier": "silver"},
        "de",
        "Carl Customer",
    )


def test_list_query_count_does_not_grow_with_rows(client_for, django_assert_num_queries):
    client = client_for("manager_maria")
    # session, user, roles, count, page
    Customer.objects.bulk_create(Customer(name=f"C{n}") for n in range(3))
    with django_assert_num_queries(5):
        assert len(client.get("/api/customers/?q=c").data["results"]) == 3
    Customer.objects.bulk_create(Customer(name=f"C{n}") for n in range(3, 10))
    with django_assert_num_queries(5):
        assert len(client.get("/api/customers/?q=c").data["results"]) == 10
