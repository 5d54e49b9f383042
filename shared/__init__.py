"""Lookout's library: everything the function triggers, the local host and the CLI call into."""
