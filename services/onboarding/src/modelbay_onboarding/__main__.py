"""`python -m modelbay_onboarding` serves the onboarding service (env vars: settings.py)."""

from modelbay_onboarding.main import run

if __name__ == "__main__":
    run()
