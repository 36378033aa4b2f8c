"""modelbay_embedded: the whole platform in one process (`modelbay up`)."""
