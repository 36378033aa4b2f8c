"""`python -m modelbay_gateway` serves the public API on MODELBAY_GATEWAY_HTTP_PORT (8000)."""

from modelbay_gateway.main import run

if __name__ == "__main__":
    run()
