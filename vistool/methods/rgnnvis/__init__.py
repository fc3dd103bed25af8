"""RGNNVIS++: a one-stage detector and a recurrent graph neural network that manages tracks.

Paper: ``shared/papers/rgnnvis_004_ee1358a0c4518c46.txt`` (Johnander et al.,
IJCV 2022). Modules: :mod:`.config` (Config, LossConfig), :mod:`.detector` (backbone + FPN + YOLACT-style head),
:mod:`.appearance` (appearance network and Gaussian appearance model),
:mod:`.graph` (GNN and LSTM gates), :mod:`.track_manager` (memory tensors,
association, initialisation), :mod:`.tracker` (one frame of the track
manager), :mod:`.identity` and :mod:`.losses` (training targets and Eq. 8),
:mod:`.model` (Model, stages, the per-frame and per-clip computation), :mod:`.outputs`
(what the model hands on), :mod:`.session` (per-video state of online inference).
"""

from vistool.methods.rgnnvis.config import Config, LossConfig, tiny_config
from vistool.methods.rgnnvis.model import Model
from vistool.methods.rgnnvis.tracker import TrackerConfig

__all__ = ["Config", "LossConfig", "Model", "TrackerConfig", "tiny_config"]
