"""E-mail: outgoing mail over SMTP."""
