"""Offline verification of ProofDesk's log: Merkle proofs, signed notes, receipts.

This package is meant to be lifted out and used by anyone who wants to check us: it imports
only the Python standard library and ``cryptography`` (a test enforces it). The server side
(:mod:`proofdesk.ledger`) builds on these same functions, so there is one implementation of
every hash, proof and signature rule.
"""
