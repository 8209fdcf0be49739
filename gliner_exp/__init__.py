"""gliner_exp: a Hydra-composed, validated experiment launcher for GLiNER."""

__version__ = "0.1.0"
