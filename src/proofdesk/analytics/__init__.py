"""The help desk's numbers (dashboard, API, CSV)."""
