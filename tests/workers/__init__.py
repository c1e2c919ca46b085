"""What the background workers apply: SLA policies and automation rules."""
