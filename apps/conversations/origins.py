"""Which web origins may talk to the widget's endpoints: the desk's own hosts and HELPDESK_WIDGET_ORIGINS."""

from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def widget_origin_allowed(origin: str | None) -> bool:
    """Whether a page at ``origin`` (scheme://host[:port]) may embed the widget. No origin (not a browser) is
    allowed: browsers always send one on cross-site requests, and tokens still guard every conversation."""
    if not origin:
        return True
    if origin.rstrip("/") in {allowed.rstrip("/") for allowed in settings.HELPDESK_WIDGET_ORIGINS}:
        return True
    if "*" in settings.HELPDESK_WIDGET_ORIGINS:
        return True
    host = urlparse(origin).netloc
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class WidgetOriginValidator(OriginValidator):
    def __init__(self, application: Any) -> None:
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return widget_origin_allowed(f"{parsed_origin.scheme}://{parsed_origin.netloc}")
