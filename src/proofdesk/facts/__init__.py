"""Fact providers the service-contract rules read: the database and the chain."""
