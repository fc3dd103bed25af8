"""RGNNVIS++: a one-stage detector and a recurrent graph neural network that manages tracks.

Paper: ``shared/papers/rgnnvis_004_ee1358a0c4518c46.txt`` (Johnander et al.,
IJCV 2022). Modules: :mod:`.detector` (backbone + FPN + YOLACT-style head),
:mod:`.appearance` (appearance network and Gaussian appearance model),
:mod:`.graph` (GNN and LSTM gates), :mod:`.track_manager` (memory tensors,
association, initialisation), :mod:`.tracker` (one frame of the track
manager), :mod:`.identity` and :mod:`.losses` (training targets and Eq. 8),
:mod:`.model` (Config, Model, stages), :mod:`.session` (online inference).
"""

from vistool.methods.rgnnvis.model import Config, LossConfig, Model
from vistool.methods.rgnnvis.tracker import TrackerConfig

__all__ = ["Config", "LossConfig", "Model", "TrackerConfig"]
