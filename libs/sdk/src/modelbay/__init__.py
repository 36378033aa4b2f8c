"""modelbay."""
