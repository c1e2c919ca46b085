"""What every adapter receives: the services container, presence, the ASGI entry point."""
