"""Shared domain, data access and adapters for the customer workflow functions."""
