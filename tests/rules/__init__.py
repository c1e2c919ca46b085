"""Service contracts (proofdesk.rules): the engine, the API, and each example end to end."""
