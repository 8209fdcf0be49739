"""Schema of the ``loss`` group: the span-classification loss gliner computes."""

from dataclasses import dataclass

from gliner_exp.config.fields import bounded, choice, prob


@dataclass
class LossConfig:
    """Focal/BCE/dice loss knobs, forwarded to gliner's TrainingArguments.

    ``alpha < 0`` disables focal weighting (plain BCE when ``gamma == 0``).
    """

    type: str = choice("focal", "focal", "dice")
    alpha: float = bounded(0.75, -1.0, 1.0)
    gamma: float = bounded(0.0, 0.0, 10.0)
    prob_margin: float = prob(0.0)
    label_smoothing: float = prob(0.0)
    reduction: str = choice("sum", "sum", "mean")
    negatives: float = bounded(1.0, 0.0, 100.0)
    masking: str = choice("global", "none", "global", "label", "span")
    dice_gamma: float = bounded(1.0, 0.0, 10.0)
    span_width_weight: bool = False
