"""modelbay_runtime."""
