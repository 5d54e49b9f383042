"""Fixtures of the analysis tests. The session's real registry (``registry``) comes from the root conftest."""
