"""ProofDesk: customer service for Web3 platforms in which every promise is verifiable."""

from proofdesk.jsonlimits import guard_recursion_limit

# py_ecc and py-evm raise the recursion limit when imported, which lets the C JSON parser
# overflow the stack on deeply nested input instead of raising RecursionError: have every later
# import of them put it back (see proofdesk.jsonlimits).
guard_recursion_limit()

__version__ = "0.1.0"
