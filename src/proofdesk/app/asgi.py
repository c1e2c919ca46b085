"""``proofdesk.app.asgi:app`` for uvicorn and other ASGI servers; configured from the environment."""

from proofdesk.app.factory import create_app
from proofdesk.settings import load_settings

app = create_app(load_settings())
