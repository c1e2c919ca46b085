"""ProofDesk: customer service for Web3 platforms in which every promise is verifiable."""

# py_ecc (under eth_account, web3 and py-evm) raises the recursion limit to 100,000 when first
# imported, which lets the C JSON parser overflow the stack on deeply nested input instead of
# raising RecursionError. jsonlimits notes the interpreter's limit first; py_ecc is imported
# here, before anything else can, and the limit put back. The embedded chain does the same
# after py-evm.
from proofdesk.jsonlimits import restore_recursion_limit  # isort: skip

import py_ecc  # noqa: F401  # isort: skip

restore_recursion_limit()

__version__ = "0.1.0"
