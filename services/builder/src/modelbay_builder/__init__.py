"""modelbay_builder."""
