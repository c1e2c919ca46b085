"""The Telegram channel's machinery that actions and workers need, so below the adapters: the
Bot API client (python-telegram-bot), reading updates, the signed ``/start`` tokens and HTML
text (``docs/telegram.md``)."""
