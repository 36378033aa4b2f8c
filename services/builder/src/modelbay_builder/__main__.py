"""`python -m modelbay_builder` serves the builder's internal API on MODELBAY_BUILDER_HTTP_PORT
and runs its build worker."""

from modelbay_builder.main import run

if __name__ == "__main__":
    run()
