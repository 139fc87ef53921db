"""Webhooks: HTTP calls that start flows. Records in ``webhooks/<name>.json`` (``records``),
keys on this machine only (``keys``), the request → inputs mapping (``calls``) and the ASGI
app served by ``flowdesk serve`` (``app``, imported on demand: it needs Starlette)."""

from .records import URL_PREFIX, Webhook, WebhookError, Webhooks

__all__ = ["URL_PREFIX", "Webhook", "WebhookError", "Webhooks"]
