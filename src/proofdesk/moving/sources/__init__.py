"""Readers of other help desks' exports: each turns its objects into ``SourceTicket``s."""
