"""Chains and anchoring: the embedded chain, anvil on loopback, failing nodes, configuration."""
