"""ProofDesk: customer service for Web3 platforms in which every promise is verifiable."""

__version__ = "0.1.0"
