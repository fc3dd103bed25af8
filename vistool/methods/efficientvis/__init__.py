"""EfficientVIS: tracklet queries and proposals, clip by clip, query hand-off across clips.

Wu et al., "Efficient Video Instance Segmentation via Tracklet Query and
Proposal", CVPR 2022 (shared/papers/efficientvis_003_8522a8d027d17108.txt).
"""

from .config import Config, LossWeights, tiny_config
from .model import Model
from .session import EfficientVisSession

__all__ = ["Config", "LossWeights", "Model", "EfficientVisSession", "tiny_config"]
