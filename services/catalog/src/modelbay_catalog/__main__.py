"""`python -m modelbay_catalog` serves the catalog's internal API on MODELBAY_CATALOG_HTTP_PORT."""

from modelbay_catalog.main import run

if __name__ == "__main__":
    run()
