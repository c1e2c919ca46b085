"""``python -m proofdesk`` runs the CLI."""

from proofdesk.cli import main

main()
