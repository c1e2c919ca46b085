"""``proofdesk.app.asgi_no_workers:app``: the app without its background workers, for
``proofdesk serve --no-workers`` when ``proofdesk worker`` runs them in processes of their own."""

from proofdesk.app.factory import create_app
from proofdesk.settings import load_settings

app = create_app(load_settings(), run_workers=())
