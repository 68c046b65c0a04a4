"""Domain errors. The CLI turns them into exit codes; the core never exits."""

from __future__ import annotations


class PhotokoshError(Exception):
    """A failure that stops a run. The message says what went wrong and what to do."""


class UnreadablePhoto(Exception):
    """One photo cannot be used. The run goes on; the reason lands in report.errors."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LockedError(PhotokoshError):
    """Another photokosh run holds the lock on the output folder."""


class StateError(PhotokoshError):
    """The output folder's state database is missing, foreign or from a newer photokosh."""


class UnknownPerson(PhotokoshError):
    """A person id or name given on the command line does not exist in the state."""
