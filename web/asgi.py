"""ASGI entry point for servers started by import string (``uvicorn web.asgi:app``)."""

from web.app import create_app

app = create_app()
