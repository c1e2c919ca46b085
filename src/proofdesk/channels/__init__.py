"""Channels customers write in by: each an adapter over actions/, like the API and the web."""
