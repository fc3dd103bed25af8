"""Prediction heads shared by the methods, one module per head.

- :mod:`~vistool.models.heads.fcos`: anchor-free FCOS parts (towers, scales,
  location grids, location assignment, centre-ness).
- :mod:`~vistool.models.heads.yolact`: YOLACT prototypes x coefficients on an
  FCOS box/class head; emits :class:`vistool.models.detections.Detections`;
  its losses are in :mod:`~vistool.models.heads.yolact_loss`.
- :mod:`~vistool.models.heads.roi_mask`: Mask R-CNN-style RoI mask head and
  ground-truth crops.
- :mod:`~vistool.models.heads.fcos_head`: the FCOS box detector (head, loss,
  post-processing); its tensor names are YolactHead's box/class part.
- :mod:`~vistool.models.heads.sag_mask`: CenterMask's spatial-attention-guided
  RoI mask head and its loss.
- :mod:`~vistool.models.heads.centers`: centre heat maps (Gaussian targets,
  CenterNet focal loss, max-pool peak extraction), for CenterNet and
  Panoptic-DeepLab-style centre heads.

Import the submodules directly.
"""
