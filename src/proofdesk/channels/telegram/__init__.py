"""Telegram: the production webhook, the one part of the channel that is an adapter. Updates
become actions in ``actions.telegram_in`` (shared with the polling worker, which may not import
an adapter), the Bot API client is ``proofdesk.telegram`` (``docs/telegram.md``)."""
