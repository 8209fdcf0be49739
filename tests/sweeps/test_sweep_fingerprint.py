"""The fingerprint that decides whether a stored result may be reused, and the run dir's name, agree."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from gliner_exp.sweeps.fingerprint import config_changes, fingerprint


def _leaves(node, prefix=""):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1]


# Every optional section present (loggers, LoRA, DeepSpeed), so every schema key has a leaf.
FULL = ["experiment=smoke", "logger=[csv,wandb,tensorboard]", "lora=lora", "hardware=gpu_zero3"]


def _composed(overrides):
    """Hydra's resolved exclude_keys and the resolved app config, as the CLI composes them."""
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    exclude = OmegaConf.to_container(cfg.hydra.job.config.override_dirname, resolve=True)["exclude_keys"]
    plain = OmegaConf.to_container(cfg, resolve=False)
    plain.pop("hydra")
    plain["run"]["dir"] = "/runs/x"  # it interpolates Hydra's runtime, which only a launched job has
    return set(exclude), OmegaConf.to_container(OmegaConf.create(plain), resolve=True)


@pytest.mark.parametrize("overrides", [["experiment=smoke"], FULL], ids=["default", "every-section"])
def test_run_dir_name_and_fingerprint_leave_out_the_same_keys(overrides):
    exclude, plain = _composed(overrides)
    kept = fingerprint(plain)
    leaves = set(_leaves(plain))
    assert len(leaves) > 50 and exclude, "the composed config looks empty"
    # Hydra matches exclude_keys exactly, so a leaf is left out of the name only if listed itself
    out_of_name = {k for k in leaves if k in exclude}
    out_of_fingerprint = {k for k in leaves if k not in kept}
    assert out_of_name == out_of_fingerprint
    assert set(kept) == leaves - out_of_name
    assert out_of_name and kept, "both lists should be non-trivial"


def test_every_excluded_key_is_a_config_key():
    exclude, plain = _composed(FULL)
    leaves = set(_leaves(plain))
    sections = {k.rsplit(".", i)[0] for k in leaves for i in range(1, k.count(".") + 1)}
    stray = {k for k in exclude if k not in leaves | sections and not k.startswith("hydra.")}
    assert not stray, f"excluded keys the config does not have: {sorted(stray)}"


def test_config_changes_names_every_changed_key():
    old = {"loss.gamma": 2.0, "loss.alpha": 0.25, "train.max_steps": 6}
    new = {"loss.gamma": 3.0, "loss.alpha": 0.25, "train.seed": 1}
    assert config_changes(old, new) == ["loss.gamma: 2.0 -> 3.0", "train.max_steps: 6 -> (absent)",
                                        "train.seed: (absent) -> 1"]
    many = {f"k{i}": i for i in range(12)}
    assert config_changes({}, many, limit=8)[-1] == "... and 4 more"
