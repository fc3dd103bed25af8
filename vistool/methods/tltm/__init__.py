"""TLTM: a two-level temporal relation model for online video instance segmentation.

Paper: ``shared/papers/tltm_002_ee04389aef060719.txt`` (digest section 3).
Modules: :mod:`.config` (Config and its parts), :mod:`.resfuser` (feature-level
relation, Eq. 1), :mod:`.centermask` (FCOS + SAG-Mask detector),
:mod:`.relation` (object encoder, GNN, transition term), :mod:`.association`
(MaskTrack R-CNN scoring with edge scores), :mod:`.model` (Model and its loss),
:mod:`.session` (online inference, track memory, video-level rule).
"""

from vistool.methods.tltm.config import AssociationConfig, Config, MaskConfig, RelationConfig, tiny_config
from vistool.methods.tltm.model import Model

__all__ = ["AssociationConfig", "Config", "MaskConfig", "Model", "RelationConfig", "tiny_config"]
