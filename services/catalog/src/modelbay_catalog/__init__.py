"""modelbay_catalog."""
