"""Training and benchmark data: the synthetic VIS benchmark (:mod:`vistool.data.synth`),
YouTube-VIS clips for training and clip-consistent augmentation."""
