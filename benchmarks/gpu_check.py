"""GPU check: every GPU option of gliner_exp trained, saved, reloaded and resumed on one real GPU.

Each check is a row of a pass/fail table with its figures and the exact commands it ran:

1. ``precision/fp32|tf32|bf16|fp16``: the same short training (``hardware=gpu``,
   ``gpu`` + ``hardware.tf32=true``, ``gpu_bf16``, ``gpu_fp16``): steady step time,
   samples/s, peak GPU memory (``torch.cuda.max_memory_allocated``), dev F1;
   ``resume/bf16|fp16``: the same run killed with SIGKILL after its first checkpoint,
   started again, compared with the uninterrupted run.
2. ``compile``: ``model.compile=true`` vs false (bf16): time to first step, steady step time.
3. ``grad_checkpointing``: ``model.gradient_checkpointing=true`` vs false (fp32): peak memory, losses.
4. ``zero2|zero3|fsdp/save`` (``torchrun --nproc_per_node 1``): train, save,
   ``GLiNER.from_pretrained(<run>/model, strict=True)``, its dev predictions vs the
   run's own ``predictions/dev.jsonl``; ``zero2|zero3|fsdp/resume``: resume from a
   sharded checkpoint after a SIGKILL. DeepSpeed rows are skipped where it is not installed.
5. ``time_to_f1``: gliner_exp vs upstream hyperparameters at equal wall time (``benchmarks/time_to_f1.py``),
   once that script has a ``--hardware`` option; until then the row says why it is skipped.

Writes ``<out>/gpu_check.md``, ``<out>/gpu_check.json`` and every log under ``<out>/logs/``
(``--out`` defaults to ``$OUT`` when set, else ``outputs/gpu_check/``); the run
directories go to ``--work`` (default ``<out>/runs``, or ``outputs/gpu_check_runs/`` in
the working tree when ``--out`` is ``$OUT``), where CrossNER politics is copied too
when ``../shared/data`` has it.
Exit status: 0 when no row failed. Needs the repo and its install only (no network).

    python benchmarks/gpu_check.py                  # on a GPU machine, under 8 minutes on one H200
    python benchmarks/gpu_check.py --dry-run        # on CPU: build and check every command, run nothing
    python benchmarks/gpu_check.py --only precision,fsdp

Through the device tool, only 8 files come back from $OUT: run it as
``python benchmarks/gpu_check.py --out /tmp/gc; cp /tmp/gc/gpu_check.* $OUT; tar czf $OUT/logs.tgz -C /tmp/gc logs``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()

# ----------------------------------------------------------------------------- budget (one H200)
STEPS = 200                  # optimizer steps per run (~25 ms each for MiniLM on an H200)
BATCH = 8                    # train.batch_size
SAVE_EVERY = 100             # first checkpoint, where the resume checks kill the run
LOG_EVERY = 10               # train.logging_steps: the losses compared across runs
WARMUP_STEPS = 10            # step intervals left out of the steady step time
RUN_TIMEOUT_S = 240          # one training process
BUDGET_S = 420               # checks not started by then are skipped: the whole script stays under 8 min
# ----------------------------------------------------------------------------- pass/fail tolerances
F1_TOL = 0.05                # |dev F1 - reference F1| (same data, seed and steps; GPU kernels are not bit-exact)
RESUME_LOSS_RTOL = 0.05      # logged losses after the resume point vs the uninterrupted run
GC_LOSS_RTOL = 0.02          # logged losses with vs without gradient checkpointing (fp32)
PRED_AGREEMENT_MIN = 0.99    # fraction of dev examples whose reloaded-model predictions equal the run's
CPU_BUILD_WORKERS = 2        # --dry-run: CPU builds at a time
TIME_TO_F1_BUDGET_S = 40     # training seconds per system in benchmarks/time_to_f1.py

DEBUG_WEIGHTS_ENV = "GLINER_EXP_DEBUG_WEIGHTS"  # gliner_exp writes <run>/debug/weights.rank0.json


# ============================================================================= pure helpers
def read_records(path: str | Path) -> list[dict]:
    """The probe's JSON lines; a line cut off by a SIGKILL (or a missing file) is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def median_step_s(stamps: list[tuple[int, float]], skip: int = WARMUP_STEPS) -> float | None:
    """Median wall time between consecutive optimizer steps, the first ``skip`` steps left out."""
    stamps = sorted(stamps)
    gaps = [(t1 - t0) / (s1 - s0) for (s0, t0), (s1, t1) in zip(stamps, stamps[1:]) if s0 >= skip and s1 > s0]
    return statistics.median(gaps) if gaps else None


def logged_losses(records: list[dict]) -> dict[int, float]:
    """``{step: loss}`` from the Trainer's periodic training logs."""
    return {int(r["step"]): float(r["logs"]["loss"]) for r in records
            if r.get("event") == "log" and "loss" in r.get("logs", {})}


def summarize_run(records: list[dict], metrics: dict | None, returncode: int | None, wall_s: float,
                  batch: int = BATCH) -> dict:
    """The figures of one training process, from the probe's records and the run's metrics.json."""
    begin = next((r for r in records if r.get("event") == "train_begin"), {})
    steps = [(int(r["step"]), float(r["t"])) for r in records if r.get("event") == "step"]
    mems = [r["mem"] for r in records if r.get("event") == "step" and r.get("mem") is not None]
    steady = median_step_s(steps)
    first = min(steps)[1] if steps else None
    metrics = metrics or {}
    return {
        "returncode": returncode, "wall_s": round(wall_s, 2),
        "global_step": metrics.get("global_step"), "dev_f1": metrics.get("dev_f1"),
        "train_loss": metrics.get("train_loss"), "resumed_from": metrics.get("resumed_from"),
        "first_step_s": round(first - begin["t"], 3) if first is not None and "t" in begin else None,
        "start_to_first_step_s": round(first - begin["t0"], 3) if first is not None and begin.get("t0") else None,
        "steady_step_ms": round(steady * 1000, 2) if steady else None,
        "samples_per_s": round(batch / steady, 1) if steady else None,
        "peak_mem_mib": round(max(mems) / 2**20, 1) if mems else None,
        "losses": logged_losses(records),
        "device": begin.get("device"),
    }


def max_rel_diff(a: dict, b: dict, after: int = 0) -> float | None:
    """Largest ``|a - b| / |b|`` over the steps both have (beyond ``after``); None if none in common."""
    common = sorted(k for k in set(a) & set(b) if k > after)
    if not common:
        return None
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in common)


def prediction_agreement(run_preds: list[list], reloaded_preds: list[list]) -> tuple[int, int]:
    """(examples whose span sets are equal, examples) between two prediction lists."""
    if len(run_preds) != len(reloaded_preds):
        return 0, max(len(run_preds), len(reloaded_preds))
    same = sum({tuple(s) for s in a} == {tuple(s) for s in b} for a, b in zip(run_preds, reloaded_preds))
    return same, len(run_preds)


def completion_problems(s: dict | None, steps: int = STEPS, what: str = "run") -> list[str]:
    """Why a training process did not produce a complete, finite result ([] when it did)."""
    if not s:
        return [f"{what}: did not run"]
    if s.get("returncode") != 0:
        return [f"{what}: exit {s.get('returncode')} (see its log)"]
    out = []
    if s.get("global_step") != steps:
        out.append(f"{what}: reached step {s.get('global_step')}, not {steps}")
    losses = [s.get("train_loss"), *s.get("losses", {}).values()]
    if any(x is None or not math.isfinite(x) for x in losses):
        out.append(f"{what}: non-finite loss")
    return out


def f1_problem(s: dict, ref: dict, label: str) -> list[str]:
    """A problem when ``s``'s dev F1 is further than F1_TOL from the reference's."""
    if s.get("dev_f1") is None or ref.get("dev_f1") is None:
        return [f"dev F1 missing ({label})"]
    if abs(s["dev_f1"] - ref["dev_f1"]) > F1_TOL:
        return [f"dev F1 {s['dev_f1']:.4f} vs {label} {ref['dev_f1']:.4f} (tolerance {F1_TOL})"]
    return []


def verdict(problems: list[str]) -> tuple[str, str]:
    """("pass", "") or ("fail", the problems joined)."""
    return ("fail", "; ".join(problems)) if problems else ("pass", "")


def precision_verdict(s: dict, ref: dict | None, steps: int = STEPS) -> tuple[str, str]:
    """A precision run passes when complete and finite and, beside fp32, within F1_TOL of it."""
    problems = completion_problems(s, steps)
    if not problems and ref is not None and not completion_problems(ref, steps):
        problems += f1_problem(s, ref, "fp32")
    return verdict(problems)


def resume_verdict(killed: dict, resumed: dict, ref: dict, steps: int = STEPS,
                   kill_step: int = SAVE_EVERY) -> tuple[str, str]:
    """Killed mid-run, restarted: it must resume from checkpoint-``kill_step``, finish, and match ``ref``."""
    problems = []
    if not killed.get("killed"):
        problems.append("the first process was not killed mid-run (it ended first: raise STEPS)")
    problems += completion_problems(resumed, steps, "resumed run")
    if not str(resumed.get("resumed_from") or "").endswith(f"checkpoint-{kill_step}"):
        problems.append(f"resumed_from={resumed.get('resumed_from')!r}, not checkpoint-{kill_step}")
    problems += completion_problems(ref, steps, "uninterrupted run")
    if not problems:
        problems += f1_problem(resumed, ref, "uninterrupted")
        diff = max_rel_diff(resumed.get("losses", {}), ref.get("losses", {}), after=kill_step)
        if diff is None or diff > RESUME_LOSS_RTOL:
            problems.append(f"losses after step {kill_step} differ by {diff} (tolerance {RESUME_LOSS_RTOL})")
    return verdict(problems)


def compile_verdict(compiled: dict, eager: dict, steps: int = STEPS) -> tuple[str, str]:
    """torch.compile must train to the same dev F1 (speed is reported, not judged)."""
    problems = completion_problems(compiled, steps, "compiled") + completion_problems(eager, steps, "eager")
    return verdict(problems or f1_problem(compiled, eager, "eager"))


def checkpointing_verdict(on: dict, off: dict, steps: int = STEPS) -> tuple[str, str]:
    """Gradient checkpointing must lower peak memory and leave the losses as they were."""
    problems = completion_problems(on, steps, "checkpointing on") + completion_problems(off, steps, "off")
    if not problems:
        if on.get("peak_mem_mib") is None or off.get("peak_mem_mib") is None:
            problems.append("peak memory not recorded")
        elif on["peak_mem_mib"] >= off["peak_mem_mib"]:
            problems.append(f"peak memory {on['peak_mem_mib']} MiB, not below {off['peak_mem_mib']} MiB")
        diff = max_rel_diff(on.get("losses", {}), off.get("losses", {}))
        if diff is None or diff > GC_LOSS_RTOL:
            problems.append(f"losses differ by {diff} (tolerance {GC_LOSS_RTOL})")
    return verdict(problems)


def save_verdict(s: dict, reload: dict | None, steps: int = STEPS) -> tuple[str, str]:
    """The final model must reload with strict=True and predict what the run predicted."""
    problems = completion_problems(s, steps)
    if not problems:
        if not reload or not reload.get("strict_load"):
            problems.append(f"GLiNER.from_pretrained(strict=True) failed: {(reload or {}).get('error', 'no result')}")
        elif reload["n_total"] == 0 or reload["n_equal"] / reload["n_total"] < PRED_AGREEMENT_MIN:
            problems.append(f"reloaded predictions equal on {reload['n_equal']}/{reload['n_total']} dev examples "
                            f"(needs {PRED_AGREEMENT_MIN:.0%})")
    return verdict(problems)


def accept_cpu_build(returncode: int | None, output: str) -> tuple[bool, str]:
    """Whether a CPU dry run of a CUDA command shows a well-formed command, and why.

    Without a GPU, a CUDA command can only be built up to where the GPU is needed:
    exit 0 (a warning at most), exit 2 naming ``hardware.device``, or transformers
    refusing CUDA precision settings once config, data and model were accepted.
    """
    if returncode == 0:
        return True, "built (dry run)"
    if returncode == 2 and "hardware.device" in output:
        return True, "refused on CPU, naming hardware.device"
    if returncode == 1 and "doesn't support bf16/gpu" in output:
        return True, "config, data and model built; transformers refuses CUDA precision without a GPU"
    last = [ln for ln in output.strip().splitlines() if ln.strip()][-3:]
    return False, f"exit {returncode}: " + " | ".join(last)


def render_markdown(report: dict) -> str:
    """The table (check, status, figures, note) and every row's commands, as Markdown."""
    meta = report.get("meta", {})
    lines = ["# gliner_exp GPU check", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += ["", "| check | status | figures | note |", "|---|---|---|---|"]
    for row in report["rows"]:
        figs = ", ".join(f"{k}={v}" for k, v in row.get("figures", {}).items() if not isinstance(v, dict))
        note = str(row.get("note", "")).replace("|", "/").replace("\n", " ")
        lines.append(f"| {row['check']} | {row['status']} | {figs} | {note} |")
    lines += ["", "## Commands (run from the repo root)", ""]
    for row in report["rows"]:
        lines.append(f"### {row['check']}")
        lines += [f"    {c}" for c in row.get("commands", [])]
        if row.get("dry_run"):
            lines.append(f"- dry run: {row['dry_run']}")
        lines.append("")
    return "\n".join(lines)


# ============================================================================= the plan
@dataclass(frozen=True)
class RunSpec:
    """One gliner_exp training process (twice for a resume: SIGKILL after ``kill_at``, then again)."""

    name: str
    overrides: tuple[str, ...]
    torchrun: bool = False
    kill_at: int | None = None
    cpu_build: bool = False  # --dry-run also builds it on CPU (where that says more than validation)


@dataclass
class Row:
    """One check: the runs it needs and how it judges them."""

    check: str
    runs: list[RunSpec]
    judge: Callable[["Runner"], tuple[str, dict, str]]
    needs: str | None = None  # a module that must be importable ("deepspeed"), else skipped
    extra: Callable[["Runner"], list[list[str]]] | None = None  # commands beyond the runs' own
    status: str = "planned"
    figures: dict = field(default_factory=dict)
    note: str = ""
    commands: list[str] = field(default_factory=list)
    dry_run: str = ""

    def extra_argv(self, runner: "Runner") -> list[list[str]]:
        return self.extra(runner) if self.extra else []


def common_overrides(data: list[str]) -> list[str]:
    return ["model=minilm", *data, f"train.max_steps={STEPS}", f"train.batch_size={BATCH}",
            f"train.save_every={SAVE_EVERY}", f"train.eval_every={STEPS * 10}",
            f"train.logging_steps={LOG_EVERY}", "train.load_best_model_at_end=false", "run.name=gpu_check"]


def build_plan(data: list[str]) -> list[Row]:
    """Every check, in the order they run (the save paths early: they matter most)."""
    base = common_overrides(data)

    def spec(name, *extra, **kw):
        return RunSpec(name, (*base, *extra), **kw)

    fp32 = spec("fp32", "hardware=gpu", cpu_build=True)
    bf16 = spec("bf16", "hardware=gpu_bf16")
    runs = {"fp32": fp32, "bf16": bf16, "fp16": spec("fp16", "hardware=gpu_fp16"),
            "tf32": spec("tf32", "hardware=gpu", "hardware.tf32=true")}

    def figs(s, keys=("steady_step_ms", "samples_per_s", "peak_mem_mib", "dev_f1", "first_step_s")):
        return {k: s.get(k) for k in keys}

    def precision(name):
        def judge(r):
            s = r.summary(runs[name])
            return _with(precision_verdict(s, None if name == "fp32" else r.summary(fp32)), figs(s))
        return Row(f"precision/{name}", [runs[name]] if name == "fp32" else [runs[name], fp32], judge)

    def resume(check, ref, needs=None, torchrun=False):
        killed = RunSpec(f"{ref.name}_resume", ref.overrides, torchrun=torchrun, kill_at=SAVE_EVERY)

        def judge(r):
            k, s, ref_s = r.killed_summary(killed), r.summary(killed), r.summary(ref)
            # None where no digest is written (torchrun runs): not a claim either way
            bit_exact = (r.digest(killed) == r.digest(ref)) if r.digest(killed) else None
            f = {"resumed_from": Path(str(s.get("resumed_from"))).name, "dev_f1": s.get("dev_f1"),
                 "uninterrupted_f1": ref_s.get("dev_f1"), "weights_bit_exact": bit_exact,
                 "loss_rel_diff": _round(max_rel_diff(s.get("losses", {}), ref_s.get("losses", {}), SAVE_EVERY))}
            return _with(resume_verdict(k, s, ref_s), f)
        return Row(check, [ref, killed], judge, needs=needs)

    def sharded(name, preset, needs=None):
        s_run = spec(name, f"hardware={preset}", torchrun=True, cpu_build=needs is None)

        def judge(r):
            s, reload = r.summary(s_run), r.reload(s_run)
            f = {**figs(s), **{k: (reload or {}).get(k) for k in ("strict_load", "saved_dtype", "n_equal", "n_total")}}
            return _with(save_verdict(s, reload), f)
        return s_run, Row(f"{name}/save", [s_run], judge, needs=needs, extra=lambda r: [r.reload_argv(s_run)])

    compiled = spec("bf16_compile", "hardware=gpu_bf16", "model.compile=true")
    gc_on = spec("fp32_grad_ckpt", "hardware=gpu", "model.gradient_checkpointing=true")

    def judge_compile(r):
        c, e = r.summary(compiled), r.summary(bf16)
        speed = round(e["steady_step_ms"] / c["steady_step_ms"], 3) if c.get("steady_step_ms") and e.get(
            "steady_step_ms") else None
        f = {"first_step_s": c.get("first_step_s"), "eager_first_step_s": e.get("first_step_s"),
             "steady_step_ms": c.get("steady_step_ms"), "eager_steady_step_ms": e.get("steady_step_ms"),
             "speedup": speed, "dev_f1": c.get("dev_f1"), "eager_f1": e.get("dev_f1")}
        return _with(compile_verdict(c, e), f)

    def judge_gc(r):
        on, off = r.summary(gc_on), r.summary(fp32)
        f = {"peak_mem_mib": on.get("peak_mem_mib"), "off_peak_mem_mib": off.get("peak_mem_mib"),
             "steady_step_ms": on.get("steady_step_ms"), "off_steady_step_ms": off.get("steady_step_ms"),
             "loss_rel_diff": _round(max_rel_diff(on.get("losses", {}), off.get("losses", {})))}
        return _with(checkpointing_verdict(on, off), f)

    data_name = data[0].split("=", 1)[1]

    def time_to_f1_argv(r):
        return [sys.executable, "benchmarks/time_to_f1.py", "--hardware", "gpu_bf16", "--systems",
                "gliner_exp,upstream", "--data", data_name, "--budget-s", str(TIME_TO_F1_BUDGET_S),
                "--out", str(r.work / "time_to_f1")]

    def judge_time_to_f1(r):
        status = time_to_f1_status()
        if status is not None:
            return status[0], {}, status[1]
        done = r.spawn(time_to_f1_argv(r), r.logs / "time_to_f1.log")
        result = r.work / "time_to_f1" / "time_to_f1.json"
        rows = json.loads(result.read_text()).get("rows", []) if result.is_file() else []
        f = {f"{row.get('system')}_final_f1": (row.get("curve") or [[None, None]])[-1][1] for row in rows}
        return (("pass", f, "") if done["returncode"] == 0 and rows
                else ("fail", f, f"exit {done['returncode']} (see logs/time_to_f1.log)"))

    fsdp, fsdp_save = sharded("fsdp", "gpu_fsdp")
    zero3, zero3_save = sharded("zero3", "gpu_zero3", needs="deepspeed")
    zero2, zero2_save = sharded("zero2", "gpu_zero2", needs="deepspeed")
    return [
        precision("fp32"), precision("bf16"),
        fsdp_save, zero3_save, zero2_save,
        resume("resume/bf16", bf16), resume("fsdp/resume", fsdp, torchrun=True),
        resume("zero3/resume", zero3, needs="deepspeed", torchrun=True),
        resume("zero2/resume", zero2, needs="deepspeed", torchrun=True),
        precision("fp16"), resume("resume/fp16", runs["fp16"]), precision("tf32"),
        Row("grad_checkpointing", [gc_on, fp32], judge_gc),
        Row("compile", [compiled, bf16], judge_compile),
        Row("time_to_f1", [], judge_time_to_f1, extra=lambda r: [time_to_f1_argv(r)]),
    ]


def time_to_f1_status() -> tuple[str, str] | None:
    """("skipped", why) while benchmarks/time_to_f1.py cannot train on a GPU; None once it can."""
    script = REPO / "benchmarks" / "time_to_f1.py"
    if not script.is_file():
        return "skipped", "benchmarks/time_to_f1.py not present"
    if "--hardware" not in script.read_text():
        return "skipped", "benchmarks/time_to_f1.py has no --hardware option yet (it trains on CPU only)"
    return None


def _with(status_note: tuple[str, str], figures: dict) -> tuple[str, dict, str]:
    return status_note[0], figures, status_note[1]


def _round(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.4g}")


# ============================================================================= running the plan
def checkpoint_complete(ckpt: Path) -> bool:
    """HF writes trainer_state.json last: with it, the checkpoint is whole."""
    return (ckpt / "trainer_state.json").is_file()


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group ``proc`` leads (torchrun and its worker too)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Runner:
    """Runs each training process of the plan once (rows share them) and keeps its figures and logs."""

    def __init__(self, out: Path, work: Path, env: dict):
        self.out, self.work, self.env = out, work, env
        self.logs = out / "logs"
        self.results: dict[str, dict] = {}
        self.reloads: dict[str, dict | None] = {}
        self.current: subprocess.Popen | None = None

    def run_dir(self, spec: RunSpec) -> Path:
        return self.work / spec.name

    def record(self, spec: RunSpec, tag: str = "") -> Path:
        return self.work / "records" / f"{spec.name}{tag}.jsonl"

    def argv(self, spec: RunSpec, tag: str = "", torchrun: bool | None = None, where: Path | None = None) -> list[str]:
        """The exact command of one process: the gliner_exp CLI under this script's step probe.

        ``where``: run directory and record there instead of under ``work`` (the CPU dry-run builds).
        """
        run_dir = where / spec.name if where else self.run_dir(spec)
        record = where / f"{spec.name}{tag}.jsonl" if where else self.record(spec, tag)
        probe = [str(SCRIPT.relative_to(REPO)), "probe", "--record", str(record), "--",
                 *spec.overrides, f"hydra.run.dir={run_dir}"]
        if spec.torchrun if torchrun is None else torchrun:
            return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1", *probe]
        return [sys.executable, *probe]

    def commands(self, spec: RunSpec) -> list[str]:
        if spec.kill_at is None:
            return [shlex.join(self.argv(spec))]
        return [f"{shlex.join(self.argv(spec, '.killed'))}   # SIGKILL once checkpoint-{spec.kill_at} is complete",
                f"{shlex.join(self.argv(spec))}   # the same again: resumes"]

    def spawn(self, argv: list[str], log: Path, kill_when: Callable[[], bool] | None = None,
              env: dict | None = None) -> dict:
        """Run ``argv`` in its own process group, output to ``log``; SIGKILL it once ``kill_when()`` or on timeout."""
        log.parent.mkdir(parents=True, exist_ok=True)
        started, killed, timed_out = time.monotonic(), False, False
        with log.open("w") as fh:
            fh.write(f"$ {shlex.join(argv)}\n")
            fh.flush()
            proc = self.current = subprocess.Popen(argv, cwd=REPO, env=env or self.env, stdout=fh,
                                                   stderr=subprocess.STDOUT, start_new_session=True)
            try:
                while proc.poll() is None:
                    if kill_when is not None and kill_when():
                        killed = True
                    elif time.monotonic() - started > RUN_TIMEOUT_S:
                        timed_out = True
                    else:
                        time.sleep(0.05)
                        continue
                    kill_group(proc)
                    break
                proc.wait()
            finally:
                if proc.poll() is None:
                    kill_group(proc)
                    proc.wait()
                self.current = None
        return {"returncode": proc.returncode, "wall_s": time.monotonic() - started, "killed": killed,
                "timed_out": timed_out, "log": str(log)}

    def process(self, spec: RunSpec, tag: str, kill_when: Callable[[], bool] | None = None) -> dict:
        env = {**self.env, "GPU_CHECK_T0": repr(time.time())}  # the probe's "start to first step"
        if spec.torchrun:  # the digest reads local tensors: under sharding it would test itself, not the save
            env[DEBUG_WEIGHTS_ENV] = "0"
        return self.spawn(self.argv(spec, tag), self.logs / f"{spec.name}{tag}.log", kill_when, env)

    def execute(self, spec: RunSpec) -> dict:
        if spec.name in self.results:
            return self.results[spec.name]
        run_dir = self.run_dir(spec)
        shutil.rmtree(run_dir, ignore_errors=True)  # a leftover checkpoint would be resumed from
        for tag in ("", ".killed"):
            self.record(spec, tag).unlink(missing_ok=True)
        killed = None
        if spec.kill_at is not None:
            ckpt = run_dir / "checkpoints" / f"checkpoint-{spec.kill_at}"
            first = self.process(spec, ".killed", kill_when=lambda: checkpoint_complete(ckpt))
            killed = {**first, "killed": first["killed"] and not (run_dir / "metrics.json").is_file()}
        done = self.process(spec, "")
        metrics_file = run_dir / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
        summary = summarize_run(read_records(self.record(spec)), metrics, done["returncode"], done["wall_s"])
        summary["timed_out"] = done["timed_out"]
        self.results[spec.name] = {"summary": summary, "killed": killed}
        return self.results[spec.name]

    def summary(self, spec: RunSpec) -> dict:
        return self.execute(spec)["summary"]

    def killed_summary(self, spec: RunSpec) -> dict:
        return self.execute(spec)["killed"] or {}

    def digest(self, spec: RunSpec) -> str | None:
        self.execute(spec)
        path = self.run_dir(spec) / "debug" / "weights.rank0.json"
        return json.loads(path.read_text()).get("digest") if path.is_file() else None

    def reload_argv(self, spec: RunSpec) -> list[str]:
        result = self.work / "records" / f"{spec.name}.reload.json"
        return [sys.executable, str(SCRIPT.relative_to(REPO)), "reload", "--run-dir", str(self.run_dir(spec)),
                "--result", str(result)]

    def reload(self, spec: RunSpec) -> dict | None:
        """Reload ``<run>/model`` strictly in a fresh process and predict dev (None if it could not run)."""
        if spec.name not in self.reloads:
            self.execute(spec)
            argv = self.reload_argv(spec)
            result = Path(argv[-1])
            result.unlink(missing_ok=True)
            self.spawn(argv, self.logs / f"{spec.name}.reload.log")
            self.reloads[spec.name] = json.loads(result.read_text()) if result.is_file() else None
        return self.reloads[spec.name]

    def stop(self) -> None:
        if self.current is not None and self.current.poll() is None:
            kill_group(self.current)
            self.current.wait()


# ============================================================================= child processes
def probe_main(record: str, gliner_args: list[str]) -> None:
    """The gliner_exp CLI with a TrainerCallback recording step times, peak GPU memory and the logs."""
    import torch
    import transformers

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        record = f"{record}.rank{os.environ.get('RANK', '0')}"
    Path(record).parent.mkdir(parents=True, exist_ok=True)
    fh = open(record, "a", buffering=1)
    cuda = torch.cuda.is_available()

    def write(**entry: Any) -> None:
        fh.write(json.dumps(entry) + "\n")

    class StepProbe(transformers.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            write(event="train_begin", t=time.time(), t0=float(os.environ.get("GPU_CHECK_T0") or 0) or None,
                  step=state.global_step, device=torch.cuda.get_device_name() if cuda else "cpu",
                  torch=torch.__version__, cuda=torch.version.cuda)

        def on_step_end(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()  # wall time of the step, not of its kernel launches
            write(event="step", step=state.global_step, t=time.time(),
                  mem=torch.cuda.max_memory_allocated() if cuda else None)

        def on_log(self, args, state, control, logs=None, **kwargs):
            write(event="log", step=state.global_step,
                  logs={k: v for k, v in (logs or {}).items() if isinstance(v, (int, float))})

    original_init = transformers.Trainer.__init__

    def init_with_probe(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.add_callback(StepProbe())

    transformers.Trainer.__init__ = init_with_probe
    sys.argv = [sys.argv[0], *gliner_args]
    from gliner_exp.cli.main import main as gliner_exp_main

    gliner_exp_main()


def saved_dtype(model_dir: Path) -> Any:
    """The floating dtype the weights in a GLiNER directory were saved in (float32 if mixed)."""
    import torch

    st = model_dir / "model.safetensors"
    if st.is_file():
        from safetensors.torch import load_file

        state = load_file(str(st))
    else:
        state = torch.load(model_dir / "pytorch_model.bin", map_location="cpu", weights_only=True, mmap=True)
    dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    return dtypes.pop() if len(dtypes) == 1 else torch.float32


def reload_main(run_dir: Path, result: Path) -> None:
    """``GLiNER.from_pretrained(<run>/model, strict=True)``, then its dev predictions vs the run's own."""
    import torch
    from gliner import GLiNER

    from gliner_exp.training.evaluation import F1Evaluator

    out: dict = {"strict_load": False}
    try:
        model = GLiNER.from_pretrained(str(run_dir / "model"), strict=True)
        out["strict_load"] = True
        dtype = saved_dtype(run_dir / "model")
        out["saved_dtype"] = str(dtype).replace("torch.", "")
        if dtype in (torch.bfloat16, torch.float16):  # predict with the weights as the run held them
            model = model.to(dtype)
        model = model.to("cuda" if torch.cuda.is_available() else "cpu")
        cfg = json.loads((run_dir / "job_config.json").read_text())
        labels = json.loads((run_dir / "resolved" / "data_summary.json").read_text())["labels"]
        rows = [json.loads(ln) for ln in (run_dir / "predictions" / "dev.jsonl").read_text().splitlines() if ln]
        examples = [{"tokenized_text": r["tokenized_text"], "ner": r["ner"]} for r in rows]
        evaluator = F1Evaluator(examples, labels, cfg["train.threshold"], cfg["train.flat_ner"],
                                cfg["train.eval_batch_size"])
        out["reloaded_dev_f1"] = evaluator(model)["f1"]
        out["n_equal"], out["n_total"] = prediction_agreement([r["predicted"] for r in rows],
                                                              evaluator.last_predictions)
    except Exception as exc:  # reported in the row: a broken save is what this check looks for
        out["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(out, indent=2) + "\n")


# ============================================================================= data, dry run, report
CROSSNER_FILES = ("train.txt", "dev.txt", "test.txt")


def find_shared_data(explicit: str | None) -> Path | None:
    """The shared data folder holding CrossNER politics: --shared-data, $GLINER_EXP_SHARED_DATA, ../shared/data."""
    for cand in (explicit, os.environ.get("GLINER_EXP_SHARED_DATA"), REPO.parent / "shared" / "data",
                 REPO / "shared" / "data"):
        if cand and all((Path(cand) / "crossner" / "politics" / f).is_file() for f in CROSSNER_FILES):
            return Path(cand)
    return None


def prepare_data(choice: str, source: Path | None, work: Path) -> tuple[list[str], dict, dict]:
    """The data overrides, the children's environment for them, and what was done (for the report).

    CrossNER politics is copied into ``<work>/data`` so the runs need nothing outside it.
    """
    if choice == "synthetic" or (choice == "auto" and source is None):
        why = "chosen" if choice == "synthetic" else "CrossNER not found (../shared/data, $GLINER_EXP_SHARED_DATA)"
        return ["data=synthetic"], {}, {"data": "synthetic", "why": why}
    if source is None:
        raise SystemExit("gpu_check: --data crossner_politics: CrossNER politics not found in --shared-data, "
                         "$GLINER_EXP_SHARED_DATA, ../shared/data or ./shared/data")
    dest = work / "data" / "crossner" / "politics"
    dest.mkdir(parents=True, exist_ok=True)
    for name in CROSSNER_FILES:
        shutil.copyfile(source / "crossner" / "politics" / name, dest / name)
    return (["data=crossner_politics", "data.test=null"], {"GLINER_EXP_SHARED_DATA": str(work / "data")},
            {"data": "crossner_politics (test split left out)", "copied_from": str(source), "copied_to": str(dest)})


def unique_specs(plan: list[Row]) -> list[RunSpec]:
    seen: dict[str, RunSpec] = {}
    for row in plan:
        for spec in row.runs:
            seen.setdefault(spec.name, spec)
    return list(seen.values())


def cpu_builds(specs: list[RunSpec], runner: Runner, tmp: Path) -> dict[str, tuple[bool, str]]:
    """``<command> run.dry_run=true`` on CPU (without torchrun), a few at a time."""
    pending, running, out = list(specs), [], {}
    env = {**runner.env, "OMP_NUM_THREADS": "1"}
    runner.logs.mkdir(parents=True, exist_ok=True)
    try:
        while pending or running:
            while pending and len(running) < CPU_BUILD_WORKERS:
                spec = pending.pop(0)
                argv = [*runner.argv(spec, torchrun=False, where=tmp), "run.dry_run=true"]
                log = (runner.logs / f"{spec.name}.dry_run.log").open("w+")
                log.write(f"$ {shlex.join(argv)}\n")
                log.flush()
                proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                running.append((spec, proc, log, time.monotonic()))
            time.sleep(0.1)
            for item in list(running):
                spec, proc, log, started = item
                if proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT_S:
                    continue
                if proc.poll() is None:
                    kill_group(proc)
                proc.wait()
                log.seek(0)
                out[spec.name] = accept_cpu_build(proc.returncode, log.read())
                log.close()
                running.remove(item)
    finally:
        for _, proc, log, _ in running:  # interrupted: stop what is still running
            kill_group(proc)
            proc.wait()
            log.close()
    return out


def dry_run(plan: list[Row], runner: Runner) -> bool:
    """Check every command without a GPU: the CLI's own pre-check in-process, CPU builds where they tell more."""
    from gliner_exp.cli.precheck import check_command_line
    from gliner_exp.config.errors import ConfigError

    specs = unique_specs(plan)
    prechecks = {}
    for spec in specs:
        try:
            check_command_line([*spec.overrides, f"hydra.run.dir={runner.run_dir(spec)}"])
            prechecks[spec.name] = (True, "ok")
        except ConfigError as exc:
            prechecks[spec.name] = (False, "; ".join(exc.problems))
    with tempfile.TemporaryDirectory(prefix="gpu_check_dry_") as tmp:
        builds = cpu_builds([s for s in specs if s.cpu_build], runner, Path(tmp))
    ok = True
    for row in plan:
        parts = []
        for spec in row.runs:
            good, text = prechecks[spec.name]
            built = builds.get(spec.name)
            ok = ok and good and (built is None or built[0])
            parts.append(f"{spec.name}: pre-check {text}; CPU build: {built[1] if built else 'not needed'}")
        row.dry_run = " / ".join(parts)
        if row.needs and importlib.util.find_spec(row.needs) is None:
            row.note = f"{row.needs} is not installed here: skipped where it is missing"
    return ok


def write_report(out: Path, meta: dict, data: dict, plan: list[Row]) -> None:
    rows = [{"check": r.check, "status": r.status, "figures": r.figures, "note": r.note, "commands": r.commands,
             **({"dry_run": r.dry_run} if r.dry_run else {})} for r in plan]
    report = {"meta": {**meta, **data}, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "gpu_check.md").write_text(render_markdown(report) + "\n")


def child_env(extra: dict) -> dict:
    """The children's environment: this repo importable, full tracebacks, weight digests, unbuffered logs."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "1",
            DEBUG_WEIGHTS_ENV: "1", **extra}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["probe"]:  # internal: one training process under the step probe
        sep = argv.index("--")
        probe_main(argv[argv.index("--record") + 1], argv[sep + 1:])
        return 0
    if argv[:1] == ["reload"]:  # internal: strict reload and prediction check of one run
        ap = argparse.ArgumentParser(prog="gpu_check.py reload")
        ap.add_argument("--run-dir", type=Path, required=True)
        ap.add_argument("--result", type=Path, required=True)
        a = ap.parse_args(argv[1:])
        reload_main(a.run_dir, a.result)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    env_out = os.environ.get("OUT")
    ap.add_argument("--out", type=Path, default=Path(env_out) if env_out else REPO / "outputs" / "gpu_check",
                    help="table, JSON and logs (default: $OUT when set, else outputs/gpu_check/)")
    ap.add_argument("--work", type=Path, default=None,
                    help="run directories and data copy (default: <out>/runs; outputs/gpu_check_runs/ when "
                         "--out is $OUT, which must stay small)")
    ap.add_argument("--dry-run", action="store_true",
                    help="no GPU: check every command (CLI pre-check; CPU dry-run builds) and the data copy")
    ap.add_argument("--data", choices=("auto", "synthetic", "crossner_politics"), default="auto",
                    help="auto: CrossNER politics when found, else the synthetic corpus")
    ap.add_argument("--shared-data", default=None, help="folder holding crossner/politics/ (default: ../shared/data)")
    ap.add_argument("--only", default="", help="comma-separated check prefixes to run, e.g. precision,fsdp")
    ap.add_argument("--budget-s", type=float, default=BUDGET_S, help="checks not started by then are skipped")
    a = ap.parse_args(argv)
    out = a.out.resolve()
    work = (a.work or (REPO / "outputs" / "gpu_check_runs" if env_out and a.out == Path(env_out) else out / "runs"))
    work = work.resolve()
    data_overrides, data_env, data_info = prepare_data(a.data, find_shared_data(a.shared_data), work)
    os.environ.update(data_env)  # the in-process pre-check resolves the data paths too
    plan = build_plan(data_overrides)
    runner = Runner(out, work, child_env(data_env))
    for row in plan:
        row.commands = list(dict.fromkeys(c for s in row.runs for c in runner.commands(s)))
        row.commands += [shlex.join(argv) for argv in row.extra_argv(runner)]
    meta = {"mode": "dry run (CPU)" if a.dry_run else "GPU", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "steps": STEPS, "batch_size": BATCH, "save_every": SAVE_EVERY, "model": "minilm",
            "work": str(work), "env": f"HYDRA_FULL_ERROR=1 PYTHONPATH=<repo>, {DEBUG_WEIGHTS_ENV}=1 (single-process runs)"}
    if a.dry_run:
        ok = dry_run(plan, runner)
        for row in plan:
            if row.check == "time_to_f1":
                row.status, row.note = time_to_f1_status() or ("planned", "")
        write_report(out, meta, data_info, plan)
        print((out / "gpu_check.md").read_text())
        return 0 if ok else 1
    only = [p for p in a.only.split(",") if p]
    started = time.monotonic()
    try:
        for row in plan:
            if only and not any(row.check.startswith(p) for p in only):
                row.status, row.note = "skipped", "not selected (--only)"
            elif row.needs and importlib.util.find_spec(row.needs) is None:
                row.status, row.note = "skipped", f"{row.needs} not installed"
            elif time.monotonic() - started > a.budget_s:
                row.status, row.note = "skipped", f"time budget ({a.budget_s:.0f} s) spent"
            else:
                try:
                    row.status, row.figures, row.note = row.judge(runner)
                except Exception as exc:  # a script error fails its row; the other checks still run
                    row.status, row.note = "fail", f"gpu_check error: {type(exc).__name__}: {exc}"
            device = next((r["summary"].get("device") for r in runner.results.values() if r["summary"].get("device")),
                          None)
            meta.update(device=device, elapsed_s=round(time.monotonic() - started, 1))
            write_report(out, meta, data_info, plan)
            print(f"[gpu_check] {row.check}: {row.status} {row.note}", flush=True)
    finally:
        runner.stop()
    print((out / "gpu_check.md").read_text())
    return 1 if any(r.status == "fail" for r in plan) else 0


if __name__ == "__main__":
    sys.exit(main())
