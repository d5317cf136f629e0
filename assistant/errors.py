"""Errors that end a command with one plain line and exit code 2."""


class UsageError(Exception):
    """Bad input or a request that cannot be met: the message says what to do instead."""
