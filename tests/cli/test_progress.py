"""Progress bars: drawn on a terminal only, a redraw per whole percent."""

import io

from partnerkit._cli.progress import Progress, counted


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal() -> None:
    piped = io.StringIO()
    with Progress("storing", 10, stream=piped) as bar:
        bar.advance(10)
    assert piped.getvalue() == ""


def test_a_terminal_sees_one_line_redrawn_in_place_and_ended() -> None:
    terminal = Terminal()
    with Progress("storing", 4, stream=terminal) as bar:
        for _ in range(4):
            bar.advance()
    drawn = terminal.getvalue()
    assert drawn.endswith("\rstoring [############################] 100% 4/4\n")
    assert drawn.count("\n") == 1
    assert "\rstoring [##############..............]  50% 2/4" in drawn


def test_many_updates_redraw_about_a_hundred_times() -> None:
    terminal = Terminal()
    with Progress("reading", 200_000, stream=terminal) as bar:
        for _ in range(200_000):
            bar.advance()
    assert 100 <= terminal.getvalue().count("\r") <= 103


def test_counted_yields_every_item_and_can_be_forced_on() -> None:
    stream = io.StringIO()
    assert list(counted(["a", "b"], "checking", stream=stream, enabled=True)) == ["a", "b"]
    assert stream.getvalue().endswith("checking [############################] 100% 2/2\n")


def test_without_a_total_the_bar_shows_counts() -> None:
    bar = Progress("reading", 0, stream=io.StringIO())
    bar.update(1234)
    assert bar.line() == "reading: 1,234"
