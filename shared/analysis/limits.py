"""Bounds on what one analysis may download, decompress, walk and hold in memory."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB
MAX_CONCURRENT_LAYERS = 16
"""The most layers an analysis may read at once, whatever it is told."""


@dataclass(frozen=True)
class Limits:
    """The analysis limits. Sizes are bytes; breaking an image-level limit raises :class:`LimitExceeded`.

    - ``max_image_bytes``: the sum of one platform's layer blob sizes (compressed, as stored).
    - ``max_layer_bytes``: the uncompressed size of one layer's tar stream (a decompression bomb stops here).
    - ``max_entries_per_layer``: tar entries in one layer (files, directories, links, whiteouts).
    - ``max_file_bytes``: the largest file a cataloger reads into memory. A larger wanted file is not
      an image failure: it is recorded as a problem at its location and the analysis goes on.
    - ``max_symlinks_per_layer``: symbolic links recorded per layer (they are kept in the layer index).
    - ``max_symlink_hops``: links followed while resolving one path (loops end here).
    - ``max_nested_archive_depth``: how deep archives inside archives (jars in jars) are opened.
    - ``max_concurrent_layers``: layers of one image downloaded and walked at the same time (1: one
      after the other). Memory grows with it by about one read buffer and one wanted file per layer.
    """

    max_image_bytes: int = 8 * GiB
    max_layer_bytes: int = 32 * GiB
    max_entries_per_layer: int = 1_000_000
    max_file_bytes: int = 64 * MiB
    max_symlinks_per_layer: int = 200_000
    max_symlink_hops: int = 40
    max_nested_archive_depth: int = 3
    max_concurrent_layers: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_concurrent_layers <= MAX_CONCURRENT_LAYERS:
            raise ValueError(f"max_concurrent_layers must be from 1 to {MAX_CONCURRENT_LAYERS}")
