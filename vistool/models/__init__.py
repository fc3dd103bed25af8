"""Parts shared by two or more methods: backbones + FPN, layers, losses, matching, transforms.

- :mod:`~vistool.models.backbone`: ``BackboneConfig``, ``Backbone``, ``FPN``, ``build_backbone`` (the one
  backbone + FPN of every method).
- :mod:`~vistool.models.detections`: ``Detections``, the per-frame detection type every head emits.
- :mod:`~vistool.models.targets`: image, frame and clip training targets.
- :mod:`~vistool.models.heads`: ``fcos``, ``yolact``, ``roi_mask``.
- :mod:`~vistool.models.layers`: sine positional encodings, FPN RoI pooling.
- :mod:`~vistool.models.losses`: focal, dice, BCE, L1 + GIoU, background-weighted CE.
- :mod:`~vistool.models.matching`: Hungarian (scipy), greedy matching, DETR box cost.
- :mod:`~vistool.models.transform`: ``FrameTransform`` (resize/normalise/pad and back).
- :mod:`~vistool.models.box_ops`: box deltas and conversions not in torchvision.ops.

Import the submodules directly; this package imports nothing heavy itself.
"""
