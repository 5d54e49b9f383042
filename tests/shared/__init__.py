"""Tests of the library, one module per library module."""
