"""Tests of the triggers, called the documented way with real request objects."""
