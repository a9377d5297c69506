import json

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_is_issued_for_a_password_and_authenticates(agent_alice):
    client = APIClient()

    issued = client.post("/api/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json")
    again = client.post("/api/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json")

    assert issued.status_code == 200
    assert issued.data == {"token": Token.objects.get(user=agent_alice).key}
    assert again.data == issued.data
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.data['token']}")
    assert client.get("/api/tickets/").status_code == 200


def test_a_wrong_password_gets_no_token(agent_alice):
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "guess"}, format="json")

    assert response.status_code == 400
    assert not Token.objects.exists()


def test_a_token_carries_its_users_roles_and_no_more(mladmin_mo):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=mladmin_mo).key}")

    assert client.get("/api/tickets/").status_code == 403
    assert client.get("/api/customers/").status_code == 403


def test_an_unknown_token_is_refused(agent_alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/tickets/")

    assert response.status_code == 403
    assert response.data["detail"].code == "authentication_failed"


def test_a_token_of_a_deactivated_user_is_refused(agent_alice):
    key = Token.objects.create(user=agent_alice).key
    agent_alice.is_active = False
    agent_alice.save(update_fields=["is_active"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get("/api/tickets/").status_code == 403


def test_schema_is_valid_openapi_with_every_endpoint():
    response = APIClient().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert {
        "/api/auth/token/",
        "/api/tickets/",
        "/api/tickets/{id}/",
        "/api/conversations/",
        "/api/conversations/{id}/",
        "/api/conversations/{id}/messages/",
        "/api/customers/",
        "/api/customers/{id}/",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/tickets/{id}/"]) == {"get", "patch"}


def test_docs_render_from_the_sidecar_not_a_cdn():
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
