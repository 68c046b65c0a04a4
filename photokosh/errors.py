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


class OptionError(PhotokoshError, ValueError):
    """A setting photokosh cannot run with (SortOptions): the message names it and what it
    may be."""


class InvalidName(PhotokoshError, ValueError):
    """A person's name with nothing in it usable as a folder name: a bad argument, which the
    CLI reports as a usage error."""


class ModelMissing(PhotokoshError):
    """The face model's files (the face_recognition_models package) are not installed."""


# Reasons shared by more than one stage: each says what is wrong and what to do.
NOT_REGULAR = "not a regular file (a device, socket or pipe); move it out of the photo folder"
VANISHED = "the file disappeared before it could be read; nothing to do unless it should be there"
NO_PERMISSION = "permission denied: photokosh may not read it; fix its permissions (chmod)"
EMPTY = "empty file (0 bytes): probably an interrupted copy; copy it again or delete it"
BROKEN_LINK = "broken symbolic link: its target does not exist; fix or remove the link"
