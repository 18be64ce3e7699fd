"""Progress bars for the command line's long phases, on standard error.

A bar is drawn only when its stream is a terminal: piped or redirected output,
logs and tests see nothing of it, so standard output stays exactly the report.
It redraws one line in place (a carriage return, no cursor codes) and only when
the whole percentage changes, so a million updates cost a hundred writes.

    with Progress("storing activities", total=len(rows)) as bar:
        for start in range(0, len(rows), 1000):
            store(rows[start : start + 1000])
            bar.advance(1000)
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final, TextIO, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

__all__ = ["Progress", "counted"]

T = TypeVar("T")

_WIDTH: Final = 28


class Progress:
    """A one-line progress bar for ``total`` units of work.

    Args:
        label: What is being done ("storing activities").
        total: How many units the phase has (0 or less: the bar shows only counts).
        stream: Where to draw (standard error by default).
        enabled: Force the bar on or off; by default it is on exactly when
            ``stream`` is a terminal.
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self._stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._shown: int | None = None
        self._open = enabled

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, units: int = 1) -> None:
        """Count ``units`` more as done."""
        self.update(self.done + units)

    def update(self, done: int, total: int | None = None) -> None:
        """Set how many units are done (and, if it changed, the total)."""
        self.done = done
        if total is not None:
            self.total = total
        self._draw()

    def close(self) -> None:
        """Draw the final state and end the line; later updates draw nothing."""
        if self._open:
            self._shown = None
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._open = False

    def line(self) -> str:
        """The bar as it is drawn now (without the carriage return)."""
        if self.total <= 0:
            return f"{self.label}: {self.done:,}"
        share = min(max(self.done / self.total, 0.0), 1.0)
        filled = round(share * _WIDTH)
        bar = "#" * filled + "." * (_WIDTH - filled)
        return f"{self.label} [{bar}] {share:4.0%} {self.done:,}/{self.total:,}"

    def _draw(self) -> None:
        if not self._open:
            return
        percent = -1 if self.total <= 0 else int(100 * self.done / self.total)
        if percent == self._shown and percent >= 0:
            return
        self._shown = percent
        sys.stdout.flush()  # keep the report and the bar in order on one terminal
        self._stream.write(f"\r{self.line()}")
        self._stream.flush()


def counted(
    items: Sequence[T], label: str, *, stream: TextIO | None = None, enabled: bool | None = None
) -> Iterator[T]:
    """``items`` one by one, with a bar that advances as each is taken (see `Progress`)."""
    with Progress(label, len(items), stream=stream, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.advance()
