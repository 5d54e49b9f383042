"""Tests of the integration use cases."""
