"""Serving: scores of pairs and of catalogs, seen items masked, top-k, the
approximate index."""
