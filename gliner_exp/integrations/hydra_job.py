"""What Hydra knows about the job running in this process."""

from __future__ import annotations

from omegaconf import OmegaConf


def job_context() -> dict:
    """What Hydra knows about the current job (empty outside a Hydra job)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return {}
        hc = HydraConfig.get()
        mode = getattr(hc.mode, "name", str(hc.mode))
        ctx = {
            "mode": mode,
            "overrides": list(OmegaConf.to_container(hc.overrides.task)),
            "override_dirname": hc.job.override_dirname,
            "job_num": hc.job.get("num"),
            "job_id": hc.job.get("id"),
            "output_dir": hc.runtime.output_dir,
            "cwd": hc.runtime.cwd,
        }
        if mode == "MULTIRUN":
            ctx["sweep_dir"] = hc.sweep.dir
        return ctx
    except Exception:  # noqa: BLE001 - a missing field never stops a job
        return {}
