"""The compliance rules of onboarding: requests, deterministic references, plans, CSV I/O, the
reads (``lookups`` for requirements, ``index`` for what exists), the idempotent writes (``ensure``) and the
pipeline order (``runner``).

Nothing here imports Prefect: ``tasks/`` and ``flows/`` wrap these functions.
"""
