"""The web UI: pages over HTTP, and the journeys in a real browser."""
