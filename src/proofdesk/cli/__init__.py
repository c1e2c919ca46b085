"""The ``proofdesk`` command line: one Typer app, a module per command group."""
