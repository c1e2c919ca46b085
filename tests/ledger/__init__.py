"""The event store and the transparency log: rebuilds, trees, receipts, audit, erasure, crashes."""
