"""``python -m proofdesk`` runs the CLI."""

from proofdesk.cli.main import main

main()
