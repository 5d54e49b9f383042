"""How the commands that read Lookout's results print.

On a terminal (as ``rich`` decides it: a TTY, or ``TTY_COMPATIBLE=1`` / ``FORCE_COLOR``) tables are drawn
with ``rich`` and severities are coloured; otherwise the same rows are plain text, left-aligned in columns
separated by two spaces, with no escape sequences, so that scripts can split them. ``--json`` output is
indented JSON on standard output. A spinner on standard error shows while the commands wait for the API,
only when standard error is a terminal. Text taken from the API (tags, names, summaries) is never read
as ``rich`` markup.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shared.cli.manage import table

SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "none": "cyan",
                   "unknown": "bright_black"}
"""The terminal style of each severity level."""

SEPARATOR = "  "


@dataclass(frozen=True)
class Styled:
    """Text in ``parts`` of (text, ``rich`` style or ``""``): styled on a terminal, plain elsewhere."""

    parts: tuple[tuple[str, str], ...]

    @staticmethod
    def of(text: str, style: str = "") -> Styled:
        """One run of ``text`` in ``style``."""
        return Styled(((text, style),))

    def __str__(self) -> str:
        return "".join(text for text, _ in self.parts)

    def to_text(self) -> Text:
        """The ``rich`` text (no markup is parsed)."""
        text = Text()
        for part, style in self.parts:
            text.append(part, style=style or None)
        return text


Cell = str | Styled
"""A table cell or a line: plain text, or :class:`Styled` text."""


def severity(level: str, text: str | None = None) -> Styled:
    """``text`` (the level's name by default) in the style of severity ``level``."""
    return Styled.of(level if text is None else text, SEVERITY_STYLES.get(level, ""))


def counts_cell(counts: Mapping[str, int]) -> Styled:
    """Severity counts the way Docker Scout prints them: ``1C 2H 0M 3L``, then ``4?`` when some are unknown
    (``none`` counts as low); non-zero counts are styled."""
    shown = [(int(counts.get("critical", 0)), "C", "critical"), (int(counts.get("high", 0)), "H", "high"),
             (int(counts.get("medium", 0)), "M", "medium"),
             (int(counts.get("low", 0)) + int(counts.get("none", 0)), "L", "low")]
    if int(counts.get("unknown", 0)):
        shown.append((int(counts["unknown"]), "?", "unknown"))
    runs: list[tuple[str, str]] = []
    for count, letter, level in shown:
        if runs:
            runs.append((" ", ""))
        runs.append((f"{count}{letter}", SEVERITY_STYLES[level] if count else ""))
    return Styled(tuple(runs))


def short_digest(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits."""
    return digest[:19]


def moment(text: str | None) -> str:
    """A stored UTC time as ``YYYY-MM-DD HH:MM`` (``-`` when there is none)."""
    return text[:16].replace("T", " ") if text else "-"


class Screen:
    """Where a command prints: ``stdout`` for results, ``stderr`` for notes and the spinner."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self._out = Console(file=self._stdout, highlight=False, markup=False, emoji=False)
        self._err = Console(file=self._stderr, highlight=False, markup=False, emoji=False)
        self.rich = self._out.is_terminal

    def json(self, value: Any) -> None:
        """``value`` as indented JSON, one document, ending with a newline."""
        self._stdout.write(json.dumps(value, indent=2) + "\n")
        self._stdout.flush()

    def line(self, text: Cell = "") -> None:
        """One line of text."""
        if self.rich:
            self._out.print(text.to_text() if isinstance(text, Styled) else Text(text), soft_wrap=True)
        else:
            self._stdout.write(f"{text}\n")

    def heading(self, text: str) -> None:
        """A section title, after a blank line."""
        self.line("")
        self.line(Styled.of(text, "bold"))

    def warning(self, text: str) -> None:
        """``warning: <text>``, part of the results (standard output)."""
        self.line(Styled((("warning: ", "bold yellow"), (text, "yellow"))))

    def note(self, text: str) -> None:
        """``lookout: <text>`` on standard error: about the command, not part of its results."""
        self._stderr.write(f"lookout: {text}\n")
        self._stderr.flush()

    def fields(self, rows: Sequence[tuple[str, Cell]]) -> None:
        """Name and value pairs, the values aligned; a value with line breaks continues under itself."""
        width = max((len(name) for name, _ in rows), default=0)
        if self.rich:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", no_wrap=True)
            grid.add_column()
            for name, value in rows:
                grid.add_row(Text(name), value.to_text() if isinstance(value, Styled) else Text(value))
            self._out.print(grid)
            return
        for name, value in rows:
            first, *rest = str(value).split("\n")
            self._stdout.write(f"{name.ljust(width)}{SEPARATOR}{first}".rstrip() + "\n")
            for more in rest:
                self._stdout.write(f"{' ' * width}{SEPARATOR}{more}".rstrip() + "\n")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Cell]], *,
              numeric: Sequence[str] = ()) -> None:
        """``rows`` under ``headers``; the ``numeric`` columns are right-aligned on a terminal."""
        if not self.rich:
            self._stdout.write(table([[str(cell) for cell in row] for row in rows], headers) + "\n")
            return
        drawn = Table(show_edge=False, pad_edge=False, header_style="bold")
        for header in headers:
            drawn.add_column(header, justify="right" if header in numeric else "left", overflow="fold")
        for row in rows:
            drawn.add_row(*(cell.to_text() if isinstance(cell, Styled) else Text(cell) for cell in row))
        self._out.print(drawn)

    @contextlib.contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        """A spinner with ``message`` on standard error while the block runs (on a terminal only)."""
        if not self._err.is_terminal:
            yield
            return
        with self._err.status(message):
            yield
