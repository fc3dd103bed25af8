"""Shared test helpers: generated videos (video), the stub model (stub_model), EfficientVIS clips (evis)."""
