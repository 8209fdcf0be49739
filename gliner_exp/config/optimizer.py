"""Schema of the ``optimizer`` group: optimiser, learning rates and schedule."""

from dataclasses import dataclass

from gliner_exp.config.fields import bounded, choice, prob

OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "adagrad", "rmsprop")
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
              "constant_with_warmup", "inverse_sqrt")


@dataclass
class OptimizerConfig:
    """Two parameter groups: the text encoder and everything else (the head).

    0.0 stays 0.0 for every rate and decay (gliner's factory would turn it into
    the default). ``adamw_torch_fused`` is torch's single-kernel AdamW: the same
    update as ``adamw_torch``, whose per-tensor loop took a fifth of a CPU step.
    """

    name: str = choice("adamw_torch_fused", *OPTIMIZERS)
    encoder_lr: float = bounded(1e-4, 0.0, 1.0)
    head_lr: float = bounded(1e-3, 0.0, 1.0)
    encoder_weight_decay: float = bounded(0.01, 0.0, 1.0)
    head_weight_decay: float = bounded(0.01, 0.0, 1.0)
    beta1: float = bounded(0.9, 0.0, 0.999999)
    beta2: float = bounded(0.999, 0.0, 0.999999)
    eps: float = bounded(1e-8, 0.0, 1.0)
    max_grad_norm: float = bounded(10.0, 0.0, None)
    scheduler: str = choice("linear", *SCHEDULERS)
    warmup_ratio: float = prob(0.1)
    warmup_steps: int = bounded(0, 0, None)
