"""Parts shared by two or more methods: backbones + FPN, layers, losses, matching, transforms.

- :mod:`~vistool.models.backbone`: ``BackboneConfig``, ``Backbone``, ``FPN``, ``build_backbone``.
- :mod:`~vistool.models.layers`: ``MLP``, sine positional encodings, RoIAlign wrappers.
- :mod:`~vistool.models.losses`: focal, dice, BCE, L1 + GIoU, background-weighted CE.
- :mod:`~vistool.models.matching`: Hungarian (scipy), greedy matching, DETR box cost.
- :mod:`~vistool.models.transform`: ``FrameTransform`` (resize/normalise/pad and back).
- :mod:`~vistool.models.box_ops`: box deltas and conversions not in torchvision.ops.

Import the submodules directly; this package imports nothing heavy itself.
"""
