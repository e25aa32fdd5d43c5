"""Prefect flows: each reads like the table of contents of its job; the work is in tasks/ and the library."""
