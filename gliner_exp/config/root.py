"""The root schema: every group's dataclass composed into one typed config."""

from dataclasses import dataclass, field

from .data import DataConfig
from .hardware import HardwareConfig
from .logger import LoggerConfig
from .lora import LoraConfig
from .loss import LossConfig
from .model import ModelConfig
from .optimizer import OptimizerConfig
from .run import HubConfig, RunConfig, TrainConfig


@dataclass
class Config:
    """What ``python -m gliner_exp`` composes; see ``conf/config.yaml``."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    data: DataConfig = field(default_factory=DataConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    run: RunConfig = field(default_factory=RunConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hub: HubConfig = field(default_factory=HubConfig)


def register_configs() -> None:
    """Register the root schema with Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="config_schema", node=Config)
