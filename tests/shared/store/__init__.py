"""Tests of the Table storage layer, on Azurite."""
