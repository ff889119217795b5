"""The web entry point: ``create_app(settings)`` builds the FastAPI app ``baton serve`` runs."""

from baton.web.app import create_app

__all__ = ["create_app"]
