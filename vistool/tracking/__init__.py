"""What every tracker shares, whatever its method.

- :mod:`~vistool.tracking.ids`: ``TrackIds``, the per-video track-id counter (ids >= 1).
- :mod:`~vistool.tracking.summaries`: video-level class/score rules, one named function each.
- :mod:`~vistool.tracking.slots`: fixed-size slot memories: association, allocation, gathers.
- :mod:`~vistool.tracking.costs`: box IoU, soft mask IoU and cosine cost matrices.

Import the submodules directly.
"""
