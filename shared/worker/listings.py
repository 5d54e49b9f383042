"""Filing every analyzed image in the listing indexes again: what ``lookout listings rebuild`` runs.

The listing indexes (repository summaries, images by push time, the advisory and package indexes)
are kept by the writers as images are analyzed, deleted and re-matched; an image analyzed before an
index existed is in none of them until something files it again. :func:`rebuild_listings` goes over
every analyzed image record (streamed: one page of records and one repository's results in memory),
files each again with :meth:`~shared.worker.process.Worker.refile`, and refreshes each repository's
summary once its images are filed. Idempotent: a second run files everything again unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.worker.process import Worker


@dataclass(frozen=True)
class IncompleteImage:
    """An analyzed image filed without some of its stored SBOMs or reports (``missing``, as
    :attr:`~shared.worker.process.Refiling.missing` names them)."""

    digest: str
    missing: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "missing": list(self.missing)}


@dataclass(frozen=True)
class RepositoryRebuild:
    """What the rebuild did for one repository: ``images`` filed again completely, and those it could not file
    completely (``incomplete``, not counted in ``images``)."""

    registry: str
    repository: str
    images: int = 0
    incomplete: tuple[IncompleteImage, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"registry": self.registry, "repository": self.repository, "images": self.images,
                "incomplete": [i.to_json() for i in self.incomplete]}


def rebuild_listings(worker: Worker, registry: str | None = None) -> Iterator[RepositoryRebuild]:
    """File every live analyzed image (of ``registry``, else of every registry) again in every listing index, and
    refresh the summary of each repository that has one; yields each repository's result once its
    summary is refreshed, in the order the records are stored.

    An image whose SBOM or report is missing is filed with what there is, reported in ``incomplete``,
    and the rebuild goes on. Storage failures are raised (a run interrupted by one can simply be run
    again).
    """
    current: tuple[str, str] | None = None
    images = 0
    incomplete: list[IncompleteImage] = []
    for record in worker.images.iter_analyzed(registry):
        where = (record.registry, record.repository)
        if where != current:
            if current is not None:
                worker.refresh_summary(*current)
                yield RepositoryRebuild(current[0], current[1], images, tuple(incomplete))
            current, images, incomplete = where, 0, []
        refiling = worker.refile(record)
        if refiling.missing:
            incomplete.append(IncompleteImage(record.digest, refiling.missing))
        elif refiling.filed:
            images += 1
    if current is not None:
        worker.refresh_summary(*current)
        yield RepositoryRebuild(current[0], current[1], images, tuple(incomplete))
