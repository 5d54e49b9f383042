"""VEX: statements that a vulnerability does or does not affect a product, and their effect on reports.

:mod:`shared.vex.documents` reads OpenVEX (v0.2.0) and CycloneDX VEX (1.4 to 1.6 JSON) into one
:class:`~shared.vex.model.VexDocument` model, refusing an invalid document with the JSON path of the
field at fault (:class:`~shared.vex.errors.InvalidVex`). Imported documents are kept per scope
(an integration, a repository, an image: :class:`~shared.vex.model.Scope`) by the store behind
:class:`~shared.records.VexStatements`. :func:`shared.vex.apply.apply_vex` marks the findings of a
platform report that a ``not_affected``/``fixed`` statement covers as suppressed (shown, not counted);
:mod:`shared.vex.service` imports and removes documents and refreshes the reports they change.
"""
