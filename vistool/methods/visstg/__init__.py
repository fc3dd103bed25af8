"""VisSTG: video instance segmentation with a spatial-temporal graph neural network.

Paper: ``shared/papers/visstg_000_ef795df0cff82195.txt`` (digest section 1).
Modules: :mod:`.config`, :mod:`.graph` (the per-level spatial-temporal graph),
:mod:`.propagation` (deformable filter warping), :mod:`.tracker` (tracking by
edges, occlusion memory), :mod:`.model` (Model, losses), :mod:`.session`
(online inference, video-level rule).
"""

from vistool.methods.visstg.config import Config, GraphConfig, TrackingConfig, tiny_config
from vistool.methods.visstg.model import Model

__all__ = ["Config", "GraphConfig", "Model", "TrackingConfig", "tiny_config"]
