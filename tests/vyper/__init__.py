"""The Vyper contracts of contracts/*.vy on both development chains, and their artifacts."""
