"""Errors that end a command with one plain line and exit code 2."""

from pathlib import Path


class UsageError(Exception):
    """Bad input or a request that cannot be met: the message says what to do instead."""


def read_user_file(path: Path, error: type[Exception], what: str = "file") -> str:
    """The UTF-8 text of a file the user named; ``error`` with a one-line reason otherwise."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read it: {err}") from None
