"""The pure domain: ticket state machine, events and projections. No I/O, no SQL, no HTTP."""
