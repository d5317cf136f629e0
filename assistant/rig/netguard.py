"""No internet: a guard that refuses, and records, every attempt to reach the network.

Standard library only, so the same file serves two ways:

- in-process (tests): :func:`install` patches ``socket`` and returns the undo;
- in a child process (``samenspraak run`` on the rig, the soak): :func:`write_sitecustomize`
  copies this file as ``sitecustomize.py`` into a folder put first on ``PYTHONPATH``; Python
  imports it at start-up and the guard is in place before any program code runs. Each attempt is
  appended to the file named by :data:`ATTEMPTS_ENV`.

Internet sockets (AF_INET, AF_INET6) are refused on ``connect``, ``connect_ex`` and ``sendto``,
and every name lookup is refused; local Unix sockets (the sound server's) pass untouched. The
guard sees what Python does; a C library that opens sockets on its own bypasses it (none of the
ones a session loads does: PortAudio reaches PulseAudio through a Unix socket).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

ATTEMPTS_ENV = "SAMENSPRAAK_NET_ATTEMPTS"
"""Environment variable naming the file a child process appends its attempts to."""
_INTERNET = (socket.AF_INET, socket.AF_INET6)


class NetworkBlocked(OSError):
    """Raised instead of reaching the network."""


def install(record: Callable[[str], None]) -> Callable[[], None]:
    """Refuse internet sockets and name lookups from now on, telling ``record`` each attempt.

    Returns a function that puts everything back.
    """
    cls = socket.socket
    saved = {name: getattr(cls, name) for name in ("connect", "connect_ex", "sendto")}
    saved_module = {name: getattr(socket, name)
                    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex",
                                 "create_connection")}

    def refuse(what: str) -> NetworkBlocked:
        record(what)
        return NetworkBlocked(f"network access blocked: {what}")

    def guarded(name: str) -> Callable[..., object]:
        original = saved[name]

        def method(self: socket.socket, *args: object) -> object:
            if self.family in _INTERNET:
                raise refuse(f"{name} {args[-1]!r}")
            return original(self, *args)
        return method

    def lookup(name: str) -> Callable[..., object]:
        def function(*args: object, **kwargs: object) -> object:
            raise refuse(f"{name} {args[:1]!r}")
        return function

    for name in saved:
        setattr(cls, name, guarded(name))
    for name in saved_module:
        setattr(socket, name, lookup(name))

    def undo() -> None:
        for name, value in saved.items():
            setattr(cls, name, value)
        for name, value in saved_module.items():
            setattr(socket, name, value)
    return undo


def install_from_environment() -> None:
    """In a child process: install the guard; attempts go to ``$SAMENSPRAAK_NET_ATTEMPTS``."""
    path = os.environ.get(ATTEMPTS_ENV)
    if not path:
        return

    def record(what: str) -> None:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {what}\n")

    install(record)


def write_sitecustomize(folder: str | os.PathLike[str], attempts: str | os.PathLike[str]
                        ) -> dict[str, str]:
    """Put this guard as ``sitecustomize.py`` into ``folder``; the environment a child needs.

    The returned variables go on top of the child's environment: ``PYTHONPATH`` with ``folder``
    first and :data:`ATTEMPTS_ENV`. The attempts file is created empty.
    """
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    with open(__file__, encoding="utf-8") as source:
        text = source.read()
    with open(os.path.join(folder, "sitecustomize.py"), "w", encoding="utf-8") as out:
        out.write(text + "\n\ninstall_from_environment()\n")
    with open(attempts, "w", encoding="utf-8"):
        pass  # created empty: no attempt yet
    path = os.pathsep.join(p for p in (folder, os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, ATTEMPTS_ENV: os.fspath(attempts)}
