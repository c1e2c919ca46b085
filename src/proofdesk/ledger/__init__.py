"""The ledger: every ticket event as a leaf of an RFC 9162 Merkle log, signed checkpoints,
proofs, receipts and the audit. The hashing, proof and signature rules themselves live in
:mod:`proofdesk.verify`, which outsiders use to check us."""
