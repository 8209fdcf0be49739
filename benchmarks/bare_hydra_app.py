"""A bare Hydra app: the baseline for ``python -m gliner_exp --cfg job`` start-up time."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=None, config_name=None)
def main(cfg: DictConfig) -> None:
    print(cfg)


if __name__ == "__main__":
    main()
