"""Real services for the tests: Azurite, a token-authenticated registry, the local host."""
