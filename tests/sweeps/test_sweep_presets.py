"""The Optuna search preset: it passes the CLI's checks and composes a sweep over the loss."""

from __future__ import annotations


def test_hparams_search_preset_passes_cli_checks():
    from gliner_exp.cli.precheck import check_command_line
    from gliner_exp.config.store import conf_dir

    check_command_line(["hparams_search=loss_optuna", "hydra.sweeper.n_trials=3"], conf_dir())


def test_hparams_search_composes_optuna_over_the_loss():
    from hydra import compose as hcompose, initialize_config_dir

    import gliner_exp.__main__  # noqa: F401
    from gliner_exp.config.store import conf_dir

    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = hcompose("config", overrides=["hparams_search=loss_optuna"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert "OptunaSweeper" in sweeper._target_ and sweeper.direction == "maximize"
    assert {"loss.gamma", "loss.alpha", "loss.masking"} <= set(sweeper.params)
    assert any(c._target_ == "gliner_exp.sweeps.callback.SweepCallback" for c in cfg.hydra.callbacks.values())
