"""Prediction heads shared by the methods.

- :mod:`~vistool.models.heads.yolact`: YOLACT-style one-stage instance
  segmentation (prototype masks x per-detection coefficients) with an
  anchor-free FCOS-style box/class head; its training targets and losses are in
  :mod:`~vistool.models.heads.yolact_loss`.
"""

from vistool.models.heads.yolact import Detections, HeadOutput, YolactConfig, YolactHead

__all__ = ["Detections", "HeadOutput", "YolactConfig", "YolactHead"]
