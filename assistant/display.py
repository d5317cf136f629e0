"""The live display of a session in a terminal, and the single keys that steer it.

Three parts, each small:

- :class:`KeyReader` puts the terminal in cbreak mode (restored on exit, Ctrl-C included) and
  turns single keys into session inputs on a thread of its own: it only reads and enqueues.
- :class:`ShownInputs` is the session's input queue that also redraws: on the session's own
  thread, at least a few times a second, it hands :meth:`Session.view` to the screen.
- :class:`Screen` draws a view: with rich (``Live``, large digits, a bar) when the terminal is
  big enough, else one plain line whenever who talks or the phase changes.

Without a terminal none of this is used (:func:`open_display` gives None): nothing changes.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from assistant.engine.clock import Clock
from assistant.engine.messages import (
    AdjustTime,
    Intent,
    KeyCommand,
    Proceed,
    SessionInput,
    Stop,
)
from assistant.engine.view import SessionView
from assistant.live import LiveInputs

if TYPE_CHECKING:
    from assistant.engine.session import Session

_LOGGER = logging.getLogger(__name__)

REFRESH_SECONDS = 0.25
"""How often the display is redrawn while nothing else happens."""
ADJUST_SECONDS = 30.0
"""What + and − add to or take from the running timer."""
MIN_WIDTH, MIN_HEIGHT = 56, 18
"""Below this the display falls back to plain lines."""

KEYS: Mapping[str, SessionInput] = {
    " ": Proceed(), "\r": Proceed(), "\n": Proceed(),
    "p": KeyCommand(Intent.PAUSE), "r": KeyCommand(Intent.REPEAT),
    "t": KeyCommand(Intent.TIMEOUT), "h": KeyCommand(Intent.HELP), "q": Stop(),
    "j": KeyCommand(Intent.YES), "y": KeyCommand(Intent.YES), "n": KeyCommand(Intent.NO),
    "+": AdjustTime(ADJUST_SECONDS), "=": AdjustTime(ADJUST_SECONDS),
    "-": AdjustTime(-ADJUST_SECONDS), "_": AdjustTime(-ADJUST_SECONDS),
}
"""Single keys: space or Enter next, p pause/resume, + / − 30 s, r repeat, t time-out, q stop,
j/y and n for ja and nee, h help."""


def key_input(key: str) -> SessionInput | None:
    """What one key press means (None: nothing)."""
    return KEYS.get(key.lower() if key.isalpha() else key)


class KeyReader:
    """Reads single keys from a terminal on a daemon thread while it is entered.

    Entering puts the terminal in cbreak mode (keys arrive at once, unechoed; Ctrl-C still
    interrupts); leaving restores it, whatever happened in between.
    """

    def __init__(self, fd: int, put: Callable[[SessionInput], None]) -> None:
        self._fd = fd
        self._put = put
        self._stop = threading.Event()
        self._saved: list[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="keys", daemon=True)

    def __enter__(self) -> KeyReader:
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        try:
            tty.setcbreak(self._fd)
            self._thread.start()
        except BaseException:  # a Ctrl-C right here: the terminal must get its echo back
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        try:
            self._stop.set()
            self._thread.join(timeout=1.0)
        finally:  # even when a second Ctrl-C cuts the wait short
            if self._saved is not None:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 32).decode("utf-8", "replace")
            except OSError:  # the terminal went away: no more keys
                return
            if not data:
                return
            for key in data:
                item = key_input(key)
                if item is not None:
                    self._put(item)


class ShownInputs(LiveInputs):
    """The session's input queue that redraws the screen on the session's own thread."""

    def __init__(self, clock: Clock, show: Callable[[SessionView], None],
                 every: float = REFRESH_SECONDS) -> None:
        super().__init__(clock)
        self._show = show
        self._every = every
        self._clock_ = clock

    def next_input(self, session: Session) -> SessionInput | None:
        """Show the session, then the next input (None at its deadline or the next redraw)."""
        self._show(session.view())
        deadline = session.next_deadline()
        timeout = self._every if deadline is None else \
            min(self._every, max(0.0, deadline - self._clock_.now()))
        item = self.get(timeout)
        allowed = session.allowed()
        if item == KeyCommand(Intent.PAUSE) and Intent.PAUSE not in allowed \
                and Intent.RESUME in allowed:
            return KeyCommand(Intent.RESUME)  # p toggles: it resumes a pause or a break
        return item


def screen_labels(lang: str) -> dict:
    """The ``[screen]`` table of ``lang/<lang>.toml``: every word the display shows."""
    text = resources.files("assistant").joinpath("lang", f"{lang}.toml").read_text("utf-8")
    return tomllib.loads(text)["screen"]


# --- drawing ------------------------------------------------------------------------------------

_FONT = {
    "0": ["███", "█ █", "█ █", "█ █", "███"], "1": [" ██", "  █", "  █", "  █", "  █"],
    "2": ["███", "  █", "███", "█  ", "███"], "3": ["███", "  █", "███", "  █", "███"],
    "4": ["█ █", "█ █", "███", "  █", "  █"], "5": ["███", "█  ", "███", "  █", "███"],
    "6": ["███", "█  ", "███", "█ █", "███"], "7": ["███", "  █", "  █", "  █", "  █"],
    "8": ["███", "█ █", "███", "█ █", "███"], "9": ["███", "█ █", "███", "  █", "███"],
    ":": [" ", "█", " ", "█", " "], "-": ["   ", "   ", "███", "   ", "   "],
}


def big_digits(text: str) -> list[str]:
    """``text`` (digits and ':') in a five-line block font, each pixel two characters wide."""
    rows = ["", "", "", "", ""]
    for char in text:
        glyph = _FONT.get(char, _FONT["-"])
        for i in range(5):
            rows[i] += "".join(c * 2 for c in glyph[i]) + "  "
    return [row.rstrip() for row in rows]


def clock_text(seconds: float | None) -> str:
    """'1:30' for 90 seconds ('-:--' without a timer); rounded up, so 0:00 means time up."""
    if seconds is None:
        return "-:--"
    whole = int(-(-seconds // 1))
    return f"{whole // 60}:{whole % 60:02d}"


def bar(fraction: float, width: int) -> str:
    """A progress bar of full and light blocks, readable without colour."""
    full = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * full + "░" * (width - full)


def who_line(view: SessionView, labels: Mapping) -> str:
    """Who talks and who listens, in words."""
    if view.paused:
        return labels["paused"]
    if view.phase == "done":
        return labels["ended"]
    if view.phase == "mirroring":
        return f"{labels['mirrors'].format(name=view.listener)}   ·   " \
               f"{labels['listens'].format(name=view.speaker)}"
    if view.phase == "confirming":
        return labels["answers"].format(name=view.speaker)
    if view.roles:
        return f"{labels['floor'].format(name=view.speaker)}   ·   " \
               f"{labels['listens'].format(name=view.listener)}"
    if view.phase == "discussing":
        return labels["together"]
    return ""


def next_line(view: SessionView, labels: Mapping) -> str:
    """What comes next, in words."""
    if view.phase in ("closing", "done"):
        return ""
    if view.next_kind is None:
        return labels["last"]
    what = labels["step"].get(view.next_kind, view.next_kind)
    return f"{labels['next']}: " + what.format(speaker=view.next_speaker,
                                               listener=view.next_listener)


def share_line(view: SessionView, labels: Mapping) -> str:
    """Speaking time so far per partner, with each one's share."""
    total = sum(view.speaking_seconds.values())
    parts = []
    for name, seconds in view.speaking_seconds.items():
        share = f" ({round(100 * seconds / total)}%)" if total else ""
        parts.append(f"{name} {clock_text(seconds)}{share}")
    return f"{labels['share']}: " + "   ".join(parts)


def plain_line(view: SessionView, labels: Mapping) -> str:
    """The whole view as one line, for a small screen."""
    parts = [f"[{labels['phase'].get(view.phase, view.phase)}]", who_line(view, labels)]
    if view.seconds_left is not None:
        parts.append(clock_text(view.seconds_left))
    parts.append(next_line(view, labels))
    return "  ".join(p for p in parts if p)


def render(view: SessionView, labels: Mapping, width: int) -> Any:
    """The view as a rich renderable ``width`` columns wide."""
    from rich.align import Align
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    phase = labels["phase"].get(view.phase, view.phase)
    rows: list[Any] = [Text(who_line(view, labels), style="bold", justify="center"), Text("")]
    digits = big_digits(clock_text(view.seconds_left))
    warn = view.seconds_left is not None and view.seconds_left <= 30
    rows.append(Align.center(Text("\n".join(digits), style="bold red" if warn else "bold")))
    inner = max(10, width - 8)
    if view.seconds_left is not None and view.seconds_total:
        done = 1.0 - view.seconds_left / view.seconds_total
        rows.append(Text(bar(done, inner), justify="center"))
    else:
        rows.append(Text(""))
    rows += [Text(""), Text(next_line(view, labels), justify="center"),
             Text(share_line(view, labels), justify="center"), Text(""),
             Text(labels["keys"], style="dim", justify="center")]
    return Panel(Group(*rows), title=f"[bold]{view.title}[/bold]", subtitle=phase,
                 width=width)


class Screen:
    """Draws views: rich Live when the terminal is big enough, else plain lines on change."""

    def __init__(self, labels: Mapping, out: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        self._labels = labels
        self._console = Console(file=out)
        width, height = self._console.size
        self.plain = width < MIN_WIDTH or height < MIN_HEIGHT
        """True when the terminal is too small for the display: one line per change."""
        self._width = min(width, 90)
        self._live = None if self.plain else Live(console=self._console, auto_refresh=False,
                                                  redirect_stdout=True, redirect_stderr=False,
                                                  transient=False)
        self._last_plain: tuple = ()

    def __enter__(self) -> Screen:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def show(self, view: SessionView) -> None:
        """Draw ``view`` (the session's thread)."""
        if self._live is not None:
            self._live.update(render(view, self._labels, self._width), refresh=True)
            return
        key = (view.phase, view.speaker, view.next_kind)
        if key != self._last_plain:  # a line when who talks or the phase changes, not per tick
            self._console.print(plain_line(view, self._labels), highlight=False, markup=False)
            self._last_plain = key


@contextmanager
def open_display(clock: Clock, lang: str, enabled: bool = True,
                 stdin: TextIO | None = None, stdout: TextIO | None = None
                 ) -> Iterator[ShownInputs | None]:
    """A live display with keys while the session runs, when both ends are a terminal.

    Yields the inputs to hand the session (keys and redraws included), or None when there is
    no terminal (or ``enabled`` is False): then nothing changes."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not (enabled and stdin.isatty() and stdout.isatty()):
        yield None
        return
    labels = screen_labels(lang)
    screen = Screen(labels, stdout)
    inputs = ShownInputs(clock, screen.show)
    with screen, KeyReader(stdin.fileno(), inputs.put):
        if screen.plain:
            screen._console.print(labels["keys"], markup=False)  # noqa: SLF001 - once, here
        yield inputs
