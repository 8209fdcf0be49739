"""Dataclass field helpers that attach validation metadata to config leaves.

:mod:`gliner_exp.config.validate` turns the metadata into pydantic constraints
(``choices`` a Literal, ``range`` bounds, ``item_choices`` a Literal per item);
OmegaConf ignores it, so the same dataclass is both the Hydra schema and the
validation rulebook.
"""

from dataclasses import MISSING, field
from typing import Any

#: Metadata key: False on a field whose value cannot change a run's results.
EXPERIMENT = "experiment"


def choice(default: Any, *choices: Any, help: str = "") -> Any:
    """A leaf whose value must be one of ``choices`` (``None`` allowed if default is None)."""
    return field(default=default, metadata={"choices": tuple(choices), "help": help})


def bounded(default: Any, lo: float | None = None, hi: float | None = None, help: str = "",
            experiment: bool = True) -> Any:
    """A numeric leaf that must lie in the closed interval [lo, hi] (``experiment``: see outside_experiment)."""
    return field(default=default, metadata={"range": (lo, hi), "help": help, EXPERIMENT: experiment})


def prob(default: float, help: str = "") -> Any:
    """A probability in [0, 1]."""
    return bounded(default, 0.0, 1.0, help=help)


def listed(default_factory, help: str = "", choices: tuple = ()) -> Any:
    """A list leaf; ``choices`` (if given) constrains each element."""
    md = {"help": help}
    if choices:
        md["item_choices"] = tuple(choices)
    return field(default_factory=default_factory, metadata=md)


def outside_experiment(default: Any = MISSING, *, default_factory: Any = MISSING, help: str = "") -> Any:
    """A leaf or section that cannot change a run's results (where it writes, how it is logged, how fast).

    Such keys stay out of the run directory's name (Hydra's ``exclude_keys``) and
    out of the sweep fingerprint, so changing one continues the same run.
    """
    return field(default=default, default_factory=default_factory, metadata={EXPERIMENT: False, "help": help})
