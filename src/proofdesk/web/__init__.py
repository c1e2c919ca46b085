"""The web UI: server-rendered pages over the same actions, access rules and sessions as the API."""
