"""The compliance rules of onboarding: requests, deterministic references, plans, CSV I/O and steps.

Nothing here imports Prefect: ``tasks/`` and ``flows/`` wrap these functions.
"""
