"""Errors that end a command with one plain line and exit code 2."""

from pathlib import Path


class UsageError(Exception):
    """Bad input or a request that cannot be met: the message says what to do instead."""


def read_user_file(path: Path, error: type[Exception], what: str = "file") -> str:
    """The UTF-8 text of a file the user named (a byte-order mark, as some editors write it,
    is allowed); ``error`` with a one-line reason otherwise."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except UnicodeDecodeError as err:  # e.g. saved as Latin-1 / Windows-1252
        raise error(f"{path}: is not UTF-8 text ({err.reason} at byte {err.start}); save it "
                    "as UTF-8 in your editor") from None
    except OSError as err:
        raise error(f"{path}: cannot read it: {err}") from None
