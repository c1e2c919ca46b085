"""Request and response bodies: ``common`` and one module per route module."""
