"""Telnyx numbers-compliance: typed client, local sandbox and onboarding pipeline."""
