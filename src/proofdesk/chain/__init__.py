"""The chain layer: ProofDesk's Vyper contracts and the EVM chains they run on."""
