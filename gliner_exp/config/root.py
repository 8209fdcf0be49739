"""The root schema: every group's dataclass composed into one typed config."""

from dataclasses import dataclass, field

from gliner_exp.config.fields import outside_experiment
from gliner_exp.config.data import DataConfig
from gliner_exp.config.eval import EvalConfig
from gliner_exp.config.hardware import HardwareConfig
from gliner_exp.config.logger import LoggerConfig
from gliner_exp.config.lora import LoraConfig
from gliner_exp.config.loss import LossConfig
from gliner_exp.config.model import ModelConfig
from gliner_exp.config.optimizer import OptimizerConfig
from gliner_exp.config.run import HubConfig, RunConfig, TrainConfig


@dataclass
class Config:
    """What ``python -m gliner_exp`` composes; see ``conf/config.yaml``."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    data: DataConfig = field(default_factory=DataConfig)
    logger: LoggerConfig = outside_experiment(default_factory=LoggerConfig)
    run: RunConfig = field(default_factory=RunConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hub: HubConfig = outside_experiment(default_factory=HubConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

