"""modelbay_onboarding."""
