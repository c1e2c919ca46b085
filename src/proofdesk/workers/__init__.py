"""Background workers: each a PeriodicWorker, started by `serve` or `proofdesk worker`."""
