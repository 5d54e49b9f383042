"""Fault injection: hostile deliveries, storage outages, a misbehaving registry, hostile images."""
