"""Pure unit tests of the core: no database, no server, no chain."""
