import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator

from helpdesk.asgi import application


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/ws/inbox/", "/ws/widget/?token=x"])
async def test_websocket_from_a_foreign_origin_is_refused_at_the_handshake(path):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"https://evil.example")])

    connected, _ = await communicator.connect()

    assert connected is False
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_unknown_websocket_path_has_no_route():
    communicator = WebsocketCommunicator(application, "/ws/no-such-route/", headers=[(b"origin", b"http://127.0.0.1")])

    with pytest.raises(ValueError, match="No route found"):
        await communicator.connect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_http_is_served_by_django_through_the_same_application():
    communicator = HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"127.0.0.1")])

    response = await communicator.get_response()

    assert response["status"] == 200
    assert response["body"] == b'{"status": "ok"}'
