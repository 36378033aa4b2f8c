"""The web UI served by the gateway: server-rendered pages (Jinja2) with htmx (docs/web.md)."""

from modelbay_gateway.web.app import install_web_ui

__all__ = ["install_web_ui"]
