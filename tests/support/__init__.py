"""Helpers shared by the test folders: tenants, servers, chains, browsers, paths.

Fixtures stay in ``tests/conftest.py`` (pytest finds it for every folder); what a test calls
or constructs lives here, so no test file imports another.
"""
