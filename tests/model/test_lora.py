"""LoRA family (gliner_exp.model.lora.apply): every variant trains, counts, merges, reloads strictly and resumes exactly.

Everything runs on the tiny random backbones (CPU, a handful of steps). The
"pretrained" GLiNER that adapters go on is a tiny GLiNER saved once per session.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gliner_exp.config.lora import LoraConfig
from gliner_exp.config.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("lora", "rslora", "dora", "pissa", "olora", "orthogonal", "mica")
TEXTS = [
    "Alice Smith flew from Paris to Berlin with Acme Corp in May 2020 .",
    "Bob joined Globex in London on Monday and bought a Pixel phone .",
]
LABELS = ["person", "city", "organization", "date", "product"]


# --------------------------------------------------------------------------- helpers
def compose(*overrides: str):
    """The composed Hydra config (as the CLI would build it), validated and typed."""
    from conftest import compose_cfg

    from gliner_exp.training.run import as_config

    return as_config(compose_cfg(overrides))


# Small, fast, no evaluation during training (dev F1 is scored once at the end).
FAST = ("experiment=smoke", "hardware.torch_threads=1", "data.synthetic.n_train=48", "data.synthetic.n_dev=8",
        "data.synthetic.n_test=8", "train.batch_size=4", "train.eval_every=1000", "train.save_every=1000",
        "train.load_best_model_at_end=false", "train.logging_steps=1", "optimizer.encoder_lr=5e-3",
        "optimizer.head_lr=5e-3", "optimizer.warmup_ratio=0.0")


@pytest.fixture(scope="session")
def tiny_gliner(tmp_path_factory) -> str:
    """A tiny GLiNER (random tiny-bert backbone) saved as a local directory: model.pretrained=<it>."""
    from gliner_exp.model.build import build_model

    out = tmp_path_factory.mktemp("tiny_gliner")
    cfg = compose(*FAST, "run.dir=/unused")
    torch.manual_seed(0)
    build_model(cfg.model).save_pretrained(out)
    return str(out)


def pretrained_overrides(path: str) -> tuple[str, ...]:
    """Continue from a GLiNER checkpoint: architecture knobs null (fixed by the checkpoint)."""
    from gliner_exp.config.model import ARCHITECTURE_KEYS

    return ("model.backbone=null", f"model.pretrained={path}", *(f"model.{k}=null" for k in ARCHITECTURE_KEYS))


def build_run(run_dir: Path, *overrides: str) -> dict:
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import load_data

    cfg = compose(*FAST, f"run.dir={run_dir}", *overrides)
    built = build_all(cfg, run_dir, load_data(cfg))
    return {"model": built.model, "trainer": built.trainer, "lora": built.lora, "cfg": cfg}


def fixed_batch_loss(built: dict) -> float:
    """Loss on the first 8 training examples, deterministic (eval mode, seeded collation)."""
    trainer, model = built["trainer"], built["model"]
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(8)])
    model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, trainer._prepare_inputs(batch))
    return float(loss)


def predictions(model) -> list:
    model.eval()
    with torch.no_grad():
        return [[(e["start"], e["end"], e["label"], round(float(e["score"]), 4)) for e in ents]
                for ents in model.inference(TEXTS, LABELS, threshold=0.05)]


def adapter_tensors(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters()
            if "lora_" in n or "trainable_tokens" in n}


def weights(model_dir: Path) -> dict:
    from gliner import GLiNER

    m = GLiNER.from_pretrained(str(model_dir), strict=True)
    return {k: v.clone() for k, v in m.model.state_dict().items()}


# --------------------------------------------------------------------------- each variant
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_counts_merges_and_reloads_strictly(variant, tiny_gliner, tmp_path):
    from gliner import GLiNER

    from gliner_exp.model.build import text_encoder
    from gliner_exp.model.export import save_final_model
    from gliner_exp.model.lora.apply import assert_plain_gliner_dir

    built = build_run(tmp_path, f"lora={variant}", *pretrained_overrides(tiny_gliner))
    model, trainer, info = built["model"], built["trainer"], built["lora"]
    encoder = text_encoder(model)

    # Counts: what peft reports for the encoder + the (fully trainable) head, and what the optimizer gets.
    peft_trainable, peft_total = encoder.get_nb_trainable_parameters()
    enc_ids = {id(p) for p in encoder.parameters()}
    head = [p for p in model.parameters() if id(p) not in enc_ids]
    assert all(p.requires_grad for p in head), "train_head=true keeps the whole head trainable"
    head_n = sum(p.numel() for p in head)
    assert info["encoder_trainable_params"] == peft_trainable > 0
    assert info["head_trainable_params"] == head_n
    assert info["trainable_params"] == peft_trainable + head_n
    assert info["total_params"] == peft_total + head_n
    optimized = sum(p.numel() for g in trainer.create_optimizer().param_groups for p in g["params"])
    assert optimized == info["trainable_params"]
    assert json.loads(json.dumps(info)) == info
    expected = {"rslora": ("use_rslora", True), "dora": ("use_dora", True), "pissa": ("init_lora_weights", "pissa"),
                "olora": ("init_lora_weights", "olora"), "orthogonal": ("init_lora_weights", "orthogonal"),
                "mica": ("init_lora_weights", "mica")}.get(variant, ("init_lora_weights", True))
    assert info["peft_config"][expected[0]] == expected[1]

    # Trains: the loss on a fixed batch drops and every adapter tensor moved.
    before_loss, before = fixed_batch_loss(built), adapter_tensors(model)
    trainer.args.max_steps = 8
    trainer.train()
    after_loss, after = fixed_batch_loss(built), adapter_tensors(model)
    assert after_loss < before_loss, (before_loss, after_loss)
    frozen_by_design = {n for n in before if variant == "mica" and "lora_B" in n}  # MiCA trains only A
    moved = [n for n in before if n not in frozen_by_design and not torch.equal(before[n], after[n])]
    assert len(moved) == len(before) - len(frozen_by_design), "some adapter tensors never trained"

    # Export: merged, plain, strict reload, same predictions as the in-memory (unmerged) model.
    expected_preds = predictions(model)
    assert any(expected_preds), "threshold too high to compare anything"
    out = save_final_model(model, tmp_path / "model")
    assert_plain_gliner_dir(out)
    reloaded = GLiNER.from_pretrained(str(out), strict=True)
    assert predictions(reloaded) == expected_preds


def test_adapters_only_with_gradient_checkpointing_and_frozen_encoder(tiny_gliner, tmp_path):
    """train_head=false: only what peft reports trains; works with checkpointing and model.freeze."""
    from gliner_exp.model.build import text_encoder

    built = build_run(tmp_path, "lora=lora", "lora.train_head=false", "model.gradient_checkpointing=true",
                      "model.freeze=[text_encoder]", *pretrained_overrides(tiny_gliner))
    model, info = built["model"], built["lora"]
    peft_trainable, _ = text_encoder(model).get_nb_trainable_parameters()
    assert info["head_trainable_params"] == 0
    assert info["trainable_params"] == peft_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    before_loss, before = fixed_batch_loss(built), adapter_tensors(model)
    built["trainer"].args.max_steps = 6
    built["trainer"].train()
    assert fixed_batch_loss(built) < before_loss
    after = adapter_tensors(model)
    assert all(not torch.equal(before[n], after[n]) for n in before)


# --------------------------------------------------------------------------- target selection
def _apply(backbone: str, *extra: str, **lora) -> tuple:
    from gliner_exp.model.build import build_model, text_encoder
    from gliner_exp.model.lora.apply import apply_lora

    cfg = compose(*FAST, "run.dir=/unused", f"model.backbone={backbone}", "lora=lora",
                  *(f"lora.{k}={v}" for k, v in lora.items()), *extra)
    model = build_model(cfg.model)
    info = apply_lora(model, cfg.lora)
    return model, info, text_encoder(model)


@pytest.mark.parametrize("backbone,leaves", [
    ("builtin:tiny-bert", {"query", "key", "value", "dense"}),
    ("builtin:tiny-deberta", {"query_proj", "key_proj", "value_proj", "dense"}),
])
def test_auto_targets_per_family_and_never_the_pooler(backbone, leaves):
    from peft.tuners.lora import LoraLayer

    _, info, encoder = _apply(backbone)
    adapted = [n for n, m in encoder.base_model.model.named_modules() if isinstance(m, LoraLayer)]
    assert {n.rsplit(".", 1)[-1] for n in adapted} == leaves
    assert set(info["peft_config"]["target_modules"]) == leaves
    assert not any("pooler" in n for n in adapted)
    assert len(adapted) == info["adapted_modules"] == 2 * 6  # 2 layers x (q, k, v, attn out, intermediate, out)


@pytest.mark.parametrize("model_type,expected", [
    ("roberta", {"query", "key", "value", "dense"}),
    ("xlm-roberta", {"query", "key", "value", "dense"}),
    ("electra", {"query", "key", "value", "dense"}),
    ("modernbert", {"Wqkv", "Wo", "Wi"}),
    ("distilbert", {"q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"}),
    ("albert", {"query", "key", "value", "dense", "ffn", "ffn_output"}),
    ("mpnet", {"q", "k", "v", "o", "dense"}),
])
def test_auto_targets_known_families_on_plain_encoders(model_type, expected):
    """The family table matches the layer names transformers really uses (tiny random encoders, no GLiNER)."""
    from transformers import AutoConfig, AutoModel

    from gliner_exp.model.lora.targets import resolve_targets

    size = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=100)
    if model_type == "distilbert":
        size = dict(dim=32, n_layers=1, n_heads=2, hidden_dim=64, vocab_size=100)
    if model_type == "albert":
        size["embedding_size"] = 16
    try:
        encoder = AutoModel.from_config(AutoConfig.for_model(model_type, **size))
    except Exception:  # noqa: BLE001
        if model_type != "modernbert":
            raise
        # transformers 5.16.1 cannot even build a default ModernBertConfig (strict rope_parameters
        # validation); mirror ModernBertModel's layer names (attn.Wqkv/Wo, mlp.Wi/Wo) instead.
        encoder = _modernbert_like()
    picked = resolve_targets(encoder, LoraConfig(enabled=True))
    assert set(picked["target_modules"]) == expected
    assert picked["how"] == f"auto ({model_type})"


def _modernbert_like():
    from types import SimpleNamespace

    lin = lambda: torch.nn.Linear(4, 4)  # noqa: E731
    layer = torch.nn.Module()
    layer.attn, layer.mlp = torch.nn.Module(), torch.nn.Module()
    layer.attn.Wqkv, layer.attn.Wo, layer.mlp.Wi, layer.mlp.Wo = lin(), lin(), lin(), lin()
    encoder = torch.nn.Module()
    encoder.layers = torch.nn.ModuleList([layer])
    encoder.config = SimpleNamespace(model_type="modernbert")
    return encoder


def test_explicit_target_matching_nothing_lists_the_layer_names():
    with pytest.raises(ConfigError) as exc:
        _apply("builtin:tiny-bert", target_modules="[query,q_proj]")
    msg = str(exc.value)
    assert "'q_proj' matches no layer of the bert backbone" in msg
    assert "query" in msg and "intermediate.dense" in msg and "'query'" not in msg


def test_explicit_targets_and_layer_and_rank_patterns_reach_peft():
    from peft.tuners.lora import LoraLayer

    _, info, encoder = _apply("builtin:tiny-bert", "++lora.rank_pattern={query:4}", "+lora.alpha_pattern.value=32",
                              target_modules="[query,value]", layers_to_transform="[1]")
    layers = {n: m for n, m in encoder.base_model.model.named_modules() if isinstance(m, LoraLayer)}
    assert sorted(layers) == ["encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"]
    assert layers["encoder.layer.1.attention.self.query"].r["default"] == 4
    assert layers["encoder.layer.1.attention.self.value"].lora_alpha["default"] == 32
    assert info["peft_config"]["rank_pattern"] == {"query": 4}


# --------------------------------------------------------------------------- config: no dead fields
def _mutations() -> dict:
    """A valid non-default value for every lora field (with what else it needs)."""
    return {
        "r": {"r": 4}, "alpha": {"alpha": 3}, "dropout": {"dropout": 0.3}, "bias": {"bias": "all"},
        "lora_bias": {"lora_bias": True}, "target_modules": {"target_modules": "[query]"},
        "exclude_modules": {"exclude_modules": "[output.dense]"}, "use_rslora": {"use_rslora": True},
        "use_dora": {"use_dora": True}, "init_lora_weights": {"init_lora_weights": "gaussian"},
        "pissa_niter": {"init_lora_weights": "pissa", "pissa_niter": 2},
        "modules_to_save": {"modules_to_save": "[embeddings.LayerNorm]"},
        "layers_to_transform": {"layers_to_transform": "[0]"}, "layers_pattern": {
            "layers_to_transform": "[0]", "layers_pattern": "layer"},
        "rank_pattern": {"+rank_pattern.key": 2}, "alpha_pattern": {"+alpha_pattern.key": 2},
        "train_added_tokens": {"train_added_tokens": False}, "train_head": {"train_head": False},
        "save_adapter": {"save_adapter": True},
    }


def test_every_lora_field_changes_what_is_built():
    from gliner_exp.model.build import build_model
    from gliner_exp.model.lora.apply import apply_lora

    cfg = compose(*FAST, "run.dir=/unused", "lora=lora")
    base = build_model(cfg.model)
    names = {f.name for f in dataclasses.fields(LoraConfig)} - {"enabled", "fan_in_fan_out"}
    mutations = _mutations()
    assert set(mutations) == names, "a new lora field needs a mutation here"
    baseline = apply_lora(copy.deepcopy(base), cfg.lora)
    for name, change in mutations.items():
        mutated = compose(*FAST, "run.dir=/unused", "lora=lora",
                          *(f"+lora.{k[1:]}={v}" if k[0] == "+" else f"lora.{k}={v}" for k, v in change.items()))
        info = apply_lora(copy.deepcopy(base), mutated.lora)
        assert info != baseline, f"lora.{name} does not reach the built model"
        if name in ("pissa_niter",):
            assert info["peft_config"]["init_lora_weights"] == "pissa_niter_2"
    # fan_in_fan_out: meaningful for GPT-2 Conv1D only; peft would reset it on nn.Linear, so it is refused.
    with pytest.raises(ConfigError, match="fan_in_fan_out"):
        apply_lora(copy.deepcopy(base), compose(*FAST, "run.dir=/unused", "lora=lora", "lora.fan_in_fan_out=true").lora)


@pytest.mark.parametrize("overrides,fragment", [
    (("lora=none", "lora.r=16"), "lora.r: set but lora.enabled is false"),
    (("lora=lora", "lora.pissa_niter=4"), "lora.pissa_niter: only with lora.init_lora_weights=pissa"),
    (("lora=lora", "lora.init_lora_weights=svd"), "lora.init_lora_weights: 'svd' is not allowed"),
    (("lora=lora", "lora.bias=some"), "lora.bias: 'some' is not allowed"),
    (("lora=lora", "lora.dropout=1.5"), "lora.dropout: 1.5 is out of range"),
    (("lora=lora", "lora.r=0"), "lora.r: 0 is out of range"),
    (("lora=mica", "lora.use_dora=true"), "mica cannot be combined with lora.use_dora"),
    (("lora=orthogonal", "lora.r=5"), "needs an even rank"),
    (("lora=lora", "lora.target_modules=[auto,query]"), "'auto' must be the only entry"),
    (("lora=lora", "++lora.rank_pattern={query:0}"), "lora.rank_pattern.query: 0 must be a positive integer"),
    (("lora=lora", "lora.layers_pattern=layer"), "lora.layers_pattern: needs lora.layers_to_transform"),
])
def test_validation_rejects_bad_lora_settings(overrides, fragment):
    with pytest.raises(ConfigError) as exc:
        compose(*FAST, "run.dir=/unused", *overrides)
    assert fragment in str(exc.value)


def test_cli_dict_and_bool_overrides():
    from gliner_exp.cli.precheck import check_command_line
    from gliner_exp.config.store import conf_dir

    check_command_line(["lora=pissa", "++lora.rank_pattern={query:4}", "+lora.alpha_pattern.key=2",
                        "lora.init_lora_weights=false"], conf_dir())
    cfg = compose(*FAST, "run.dir=/unused", "lora=lora", "lora.init_lora_weights=false",
                  "++lora.rank_pattern={query:4}")
    assert cfg.lora.init_lora_weights is False and dict(cfg.lora.rank_pattern) == {"query": 4}
    with pytest.raises(ConfigError, match=r"write '\+\+lora.rank_pattern=\{query:4\}'"):
        check_command_line(["lora.rank_pattern={query:4}"], conf_dir())
    with pytest.raises(ConfigError, match="lora.rank_pattern: 4 is not a valid mapping"):
        check_command_line(["lora.rank_pattern=4"], conf_dir())


# --------------------------------------------------------------------------- export
def test_unmerged_adapter_is_never_exported_as_the_final_model(tiny_gliner, tmp_path, monkeypatch):
    """The failure this guards against: gliner reloads an unmerged dir (strict=False) with an untrained encoder."""
    from gliner import GLiNER

    import gliner_exp.model.lora.export as lora_export
    from gliner_exp.model.export import save_final_model
    from gliner_exp.model.lora.apply import assert_plain_gliner_dir
    from gliner_exp.model.lora.export import UnmergedAdapterError

    built = build_run(tmp_path, "lora=lora", "lora.init_lora_weights=false", *pretrained_overrides(tiny_gliner))
    model = built["model"]  # init false: random A and B, so the adapters change the outputs
    expected = predictions(model)

    # What a naive export writes: gliner's own save_pretrained of the peft-wrapped model.
    naive = tmp_path / "naive"
    model.save_pretrained(naive)
    with pytest.raises(UnmergedAdapterError):
        assert_plain_gliner_dir(naive)
    with pytest.raises(RuntimeError):
        GLiNER.from_pretrained(str(naive), strict=True)
    assert predictions(GLiNER.from_pretrained(str(naive))) != expected, "strict=False silently loses the adapters"

    # save_final_model refuses to write an unmerged model even if merging were skipped ...
    monkeypatch.setattr(lora_export, "merge_adapters", lambda m: False)
    with pytest.raises(UnmergedAdapterError):
        save_final_model(copy.deepcopy(model), tmp_path / "refused")
    monkeypatch.undo()
    # ... and the real export is plain, reloads strictly and predicts the same.
    out = save_final_model(model, tmp_path / "model")
    assert_plain_gliner_dir(out)
    assert predictions(GLiNER.from_pretrained(str(out), strict=True)) == expected


@pytest.mark.parametrize("variant", ["lora", "pissa"])
def test_saved_adapter_reproduces_the_merged_encoder(variant, tiny_gliner, tmp_path):
    """<run dir>/adapter applies to the *original* encoder (PiSSA converted back) and gives the merged weights."""
    from gliner import GLiNER
    from peft import PeftModel

    from gliner_exp.model.build import text_encoder
    from gliner_exp.model.export import save_final_model

    built = build_run(tmp_path, f"lora={variant}", "lora.save_adapter=true", *pretrained_overrides(tiny_gliner))
    built["trainer"].args.max_steps = 3
    built["trainer"].train()
    save_final_model(built["model"], tmp_path / "model", adapter_dir=tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    original = text_encoder(GLiNER.from_pretrained(tiny_gliner))
    rebuilt = PeftModel.from_pretrained(original, str(tmp_path / "adapter")).merge_and_unload()
    merged = text_encoder(GLiNER.from_pretrained(str(tmp_path / "model"), strict=True)).state_dict()
    for key, value in rebuilt.state_dict().items():
        torch.testing.assert_close(value, merged[key], atol=1e-5, rtol=1e-4, msg=key)


# --------------------------------------------------------------------------- checkpoints and resume
def test_checkpoint_restores_adapter_weights_and_mismatch_is_refused(tiny_gliner, tmp_path):
    from gliner_exp.model.lora.apply import check_resume
    from gliner_exp.model.lora.export import saved_keys

    pre = pretrained_overrides(tiny_gliner)
    built = build_run(tmp_path, "lora=dora", "train.save_every=3", *pre)
    built["trainer"].args.max_steps = 3
    built["trainer"].train()
    ckpt = tmp_path / "checkpoints" / "checkpoint-3"
    trained = adapter_tensors(built["model"])
    assert any("lora_A" in k for k in saved_keys(ckpt)) and any("lora_magnitude" in k for k in saved_keys(ckpt))

    fresh = build_run(tmp_path / "fresh", "lora=dora", *pre)
    assert not all(torch.equal(trained[k], v) for k, v in adapter_tensors(fresh["model"]).items())
    check_resume(fresh["model"], ckpt)
    fresh["trainer"]._load_from_checkpoint(str(ckpt))  # what trainer.train(resume_from_checkpoint=...) does
    restored = adapter_tensors(fresh["model"])
    assert restored.keys() == trained.keys()
    assert all(torch.equal(trained[k], restored[k]) for k in trained)

    for other in (("lora=dora", "lora.r=4"), ("lora=lora",), ("lora=dora", "lora.target_modules=[query]")):
        with pytest.raises(ConfigError, match="does not match this run's adapters"):
            check_resume(build_run(tmp_path / "other", *other, *pre)["model"], ckpt)
    with pytest.raises(ConfigError, match="does not match this run's adapters"):
        check_resume(build_run(tmp_path / "none", *pre)["model"], ckpt)  # resumed without LoRA


def test_resume_after_interruption_ends_with_identical_weights(tiny_gliner, tmp_path):
    """Uninterrupted run vs. a run whose later checkpoints are lost and that resumes from checkpoint-4."""
    from gliner_exp.training.run import train

    run = ("lora=lora", "lora.dropout=0.2", "train.max_steps=8", "train.save_every=4", "train.save_total_limit=null",
           *pretrained_overrides(tiny_gliner))
    first = train(compose(*FAST, f"run.dir={tmp_path}", *run))
    assert first["global_step"] == 8 and first["resumed_from"] is None
    uninterrupted = weights(tmp_path / "model")
    # Interrupted after checkpoint-4: what survives is checkpoint-4 (and resolved/).
    shutil.rmtree(tmp_path / "checkpoints" / "checkpoint-8")
    shutil.rmtree(tmp_path / "model")
    (tmp_path / "metrics.json").unlink()
    second = train(compose(*FAST, f"run.dir={tmp_path}", "run.resume=auto", *run))
    assert second["resumed_from"].endswith("checkpoint-4")
    resumed = weights(tmp_path / "model")
    assert resumed.keys() == uninterrupted.keys()
    differing = [k for k in resumed if not torch.equal(resumed[k], uninterrupted[k])]
    assert not differing, differing[:5]


@pytest.mark.slow
def test_cli_killed_after_checkpoint_resumes_to_identical_weights(tiny_gliner, tmp_path):
    """The real thing: the CLI is killed once checkpoint-4 exists, rerun with the same run.dir."""
    args = [sys.executable, "-m", "gliner_exp", *FAST, "lora=dora", "train.max_steps=12", "train.save_every=4",
            "train.save_total_limit=null", *pretrained_overrides(tiny_gliner)]
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    subprocess.run([*args, f"run.dir={tmp_path / 'a'}"], check=True, cwd=REPO, env=env, capture_output=True)

    b = tmp_path / "b"
    proc = subprocess.Popen([*args, f"run.dir={b}"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not (b / "checkpoints" / "checkpoint-4" / "trainer_state.json").is_file():
            assert proc.poll() is None and time.time() < deadline, "run ended before checkpoint-4"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert not (b / "model").exists()
    out = subprocess.run([*args, f"run.dir={b}", "run.resume=auto"], check=True, cwd=REPO, env=env,
                         capture_output=True, text=True)
    assert "resumed from: " in out.stdout and "checkpoint-" in out.stdout
    a_w, b_w = weights(tmp_path / "a" / "model"), weights(b / "model")
    assert not [k for k in a_w if not torch.equal(a_w[k], b_w[k])]
