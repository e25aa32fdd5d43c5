"""Prefect flows: each reads like the table of contents of its job; the work is in ``tasks/`` and the library.

* ``flows.onboard_customer.onboard_customer``: one customer in one market, end to end.
"""
