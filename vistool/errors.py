"""Exception classes of vistool.

Every error a user can cause derives from :class:`VistoolError`. Its message is
one line that names the file or option at fault and says what to do; the CLI
prints it as ``error: <message>`` and exits with :attr:`VistoolError.exit_code`.
"""

from __future__ import annotations


class VistoolError(Exception):
    """Base class of all errors that the CLI reports as one line."""

    exit_code = 1

    def __str__(self) -> str:  # always one line
        return " ".join(super().__str__().split())


class InputError(VistoolError):
    """A file, folder or option given by the user cannot be used."""

    exit_code = 2


class VideoReadError(InputError):
    """A video cannot be opened or decoded.

    Attributes:
        path: the video that failed.
        last_good_frame: index of the last frame decoded correctly, or None.
    """

    def __init__(self, path: str, reason: str, last_good_frame: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.last_good_frame = last_good_frame
        where = "" if last_good_frame is None else f" (last good frame: {last_good_frame})"
        super().__init__(f"{self.path}: {reason}{where}")


class VideoWriteError(VistoolError):
    """A video cannot be written (no H.264 encoder, ffmpeg failed, disk full).

    Attributes:
        path: the video that could not be written.
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class FormatError(InputError):
    """A JSON/RLE/YAML file does not follow its schema.

    Attributes:
        path: the file at fault.
        location: JSON path of the first problem, e.g. ``$.annotations[3].bboxes[0]``.
    """

    def __init__(self, path: str, location: str, problem: str):
        self.path = str(path)
        self.location = location
        self.problem = problem
        super().__init__(f"{self.path}: {location}: {problem}")


class ConfigError(InputError):
    """A configuration file or value is invalid."""


class CheckpointError(InputError):
    """A checkpoint cannot be loaded into the requested model."""


class MethodError(InputError):
    """An unknown method or an unavailable method feature was requested."""


class UnsafePathError(InputError):
    """A file name from a JSON file would read or write outside the folder it belongs to."""
