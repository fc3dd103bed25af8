"""InstFlow: instance flow assembly, a bottom-up, box-free online VIS method (Panoptic-DeepLab based).

Paper: ``shared/papers/instflow_001_ead5de58e320e281.txt`` (digest section 2).
Modules: :mod:`.config`, :mod:`.model` (intra- and inter-frame modules, Eq. 1),
:mod:`.tcf` (Temporal Context Fusion), :mod:`.targets` (dense targets),
:mod:`.assembly` (instance flows and reference matching), :mod:`.session`
(online inference, video-level rule).
"""

from vistool.methods.instflow.config import AssemblyConfig, Config, LossConfig, tiny_config
from vistool.methods.instflow.model import Model

__all__ = ["AssemblyConfig", "Config", "LossConfig", "Model", "tiny_config"]
