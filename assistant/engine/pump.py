"""The driver loop, once for every driver: inputs in, effects out, deadlines kept.

A driver supplies an :class:`InputSource` (a queue filled by other threads in real time, or a
scripted couple on a virtual clock) and a function that carries out each effect; :func:`pump`
runs the session between them until it is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from assistant.engine.messages import Effect, SessionInput
from assistant.engine.session import Session


class InputSource(Protocol):
    """Where a driver's inputs come from."""

    def next_input(self, session: Session) -> SessionInput | None:
        """The next input; None once :meth:`Session.next_deadline` has come without one."""


Perform = Callable[[Effect], None]
"""Carries out one effect (say it, play it, log it, …)."""


def perform_all(effects: Iterable[Effect], perform: Perform) -> None:
    """Carry out ``effects`` in order."""
    for effect in effects:
        perform(effect)


def pump(session: Session, source: InputSource, perform: Perform) -> None:
    """Start ``session`` and run it to its end."""
    perform_all(session.start(), perform)
    while not session.done:
        item = source.next_input(session)
        if item is not None:
            perform_all(session.handle(item), perform)
        perform_all(session.tick(), perform)
