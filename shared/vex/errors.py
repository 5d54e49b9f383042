"""The VEX branch of the error hierarchy."""

from __future__ import annotations

from shared.errors import InvalidInput


class InvalidVex(InvalidInput):
    """A VEX document that is not valid: ``path`` is the JSON path of the field at fault
    (``statements[3].status``; ``$`` for the document itself), and leads the message."""

    code = "invalid-vex"

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
