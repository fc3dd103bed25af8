"""Running methods: streaming inference (``infer``), batches of videos (``batch``), input sources
(``sources``), per-frame prediction (``predict``) and training (``train``, ``pretrain``)."""
