"""Request and response bodies (being split beside their route modules)."""

from proofdesk.api.schemas.common import *  # noqa: F403
