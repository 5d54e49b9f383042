"""Tests of the local development host (shared.devhost), against the real Azurite."""
