"""The `lookout` command line."""
