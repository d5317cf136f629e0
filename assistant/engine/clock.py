"""Time, injected: a real clock for live sessions and a virtual one for simulation and tests."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """Where a session reads the time from."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""

    def wall(self) -> dt.datetime:
        """The local wall-clock time (used to say when to come back from a break)."""


class RealClock:
    """The machine's monotonic clock and local time."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def wall(self) -> dt.datetime:
        """The local time now."""
        return dt.datetime.now().astimezone()


class VirtualClock:
    """A clock that only moves when told to; a 20-minute session runs in milliseconds."""

    def __init__(self, start_wall: dt.datetime | None = None) -> None:
        self._now = 0.0
        self._start_wall = start_wall or dt.datetime(2000, 1, 1, 20, 0)

    def now(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._now

    def wall(self) -> dt.datetime:
        """A fixed, deterministic evening plus the virtual time passed."""
        return self._start_wall + dt.timedelta(seconds=self._now)

    def advance_to(self, t: float) -> None:
        """Move the clock forward to ``t`` (never backwards)."""
        if t > self._now:
            self._now = t

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.advance_to(self._now + seconds)
