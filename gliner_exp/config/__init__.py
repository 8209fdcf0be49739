"""Typed config schema of gliner_exp: one dataclass module per group, validation, Hydra registration.

Nothing in this package imports torch."""
