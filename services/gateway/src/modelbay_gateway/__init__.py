"""modelbay_gateway."""
