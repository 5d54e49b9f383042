"""Azure Table and Queue storage: the implementations of :mod:`shared.records` and of the library's caches."""
