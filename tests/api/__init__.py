"""The help desk through its HTTP API, on SQLite and PostgreSQL."""
