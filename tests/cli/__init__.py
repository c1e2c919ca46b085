"""The proofdesk command line and the demo seed."""
