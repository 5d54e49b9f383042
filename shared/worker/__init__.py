"""The queue worker: one job in, the image's record, SBOMs and findings stored."""
