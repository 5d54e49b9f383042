"""The function triggers: thin adapters from HTTP and queue messages to the library in ``shared``."""
