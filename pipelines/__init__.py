"""Discern's analysis engine and library: everything that works without a browser."""
