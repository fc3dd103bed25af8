"""Track-id allocation: ids are >= 1, given in order of first appearance, and restart for every video."""

from __future__ import annotations


class TrackIds:
    """The id counter of one video (one per session, never global).

    Example:
        >>> ids = TrackIds()
        >>> ids.new(), ids.new()
        (1, 2)
    """

    def __init__(self) -> None:
        self.next_id = 1

    def new(self) -> int:
        """A fresh id, one more than the last given."""
        tid = self.next_id
        self.next_id += 1
        return tid

    @property
    def given(self) -> list[int]:
        """Every id given so far, in order."""
        return list(range(1, self.next_id))
