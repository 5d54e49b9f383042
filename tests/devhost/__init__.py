"""Tests of the local development host (devhost), against the real Azurite."""
