"""modelbay_common."""
