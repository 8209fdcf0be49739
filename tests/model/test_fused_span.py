"""gliner_exp's restructured span scoring computes gliner's function with gliner's parameters."""

import types

import pytest
import torch

from conftest import TINY, compose_cfg


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import as_config, load_data

    run_dir = tmp_path_factory.mktemp("fused")
    cfg = as_config(compose_cfg([*TINY, "model.dropout=0.3"], run_dir=run_dir))  # smoke trains without dropout
    return build_all(cfg, run_dir, load_data(cfg))


def _gliner_forwards(inner):
    """Context: gliner's own forward methods on the core and its span layer, restored afterwards."""
    from gliner.modeling.span_rep import SpanMarkerV0

    marker = next(m for m in inner.modules() if type(m) is SpanMarkerV0)
    saved = {inner: inner.forward, marker: marker.forward}

    class _Plain:
        def __enter__(self):
            inner.forward = types.MethodType(type(inner).forward, inner)
            marker.forward = types.MethodType(SpanMarkerV0.forward, marker)

        def __exit__(self, *exc):
            for module, forward in saved.items():
                module.forward = forward
    return _Plain()


@pytest.mark.parametrize("training", [False, True])
def test_logits_loss_and_gradients_equal_gliners(built, training, monkeypatch):
    from gliner_exp.model.gliner_internals import core

    # Every dropout draws from fast_dropout's masks (test_*_dropout_*); relu_dropout on the
    # span layer takes the draws the routed nn.Dropout takes in gliner's own forward.

    inner = core(built.model)
    assert "forward" in vars(inner), "build_all left gliner's span scoring in place"
    batch = built.trainer.data_collator([built.trainer.train_dataset[i] for i in range(8)])
    inner.train(training)
    results = []
    for plain in (True, False):
        inner.zero_grad()
        torch.manual_seed(0)  # the same dropout draws, in the same order, for both
        if plain:
            with _gliner_forwards(inner):
                out = inner(**batch)
        else:
            out = inner(**batch)
        out.loss.backward()
        results.append((out.logits.detach(), out.loss.detach(),
                        {n: p.grad.clone() for n, p in inner.named_parameters() if p.grad is not None}))
    (ref_logits, ref_loss, ref_grads), (logits, loss, grads) = results
    assert logits.shape == ref_logits.shape and logits.dim() == 4
    if training:  # gliner's invalid spans are span (0, 0), each with a dropout draw of its own; the loss masks them
        valid = batch["span_mask"].bool().view(logits.shape[:3])
        logits, ref_logits = logits[valid], ref_logits[valid]
    torch.testing.assert_close(logits, ref_logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-4, atol=1e-4)
    assert grads.keys() == ref_grads.keys() and len(grads) > 10
    for name in grads:
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=1e-3, atol=1e-5, msg=name)


def test_span_vectors_come_from_gliners_forward(built):
    from gliner_exp.model.gliner_internals import core

    inner = core(built.model).eval()
    batch = built.trainer.data_collator([built.trainer.train_dataset[i] for i in range(2)])
    with torch.no_grad():
        out = inner(**batch, return_embeddings=True)
        with _gliner_forwards(inner):
            ref = inner(**batch, return_embeddings=True)
    torch.testing.assert_close(out.span_embeddings, ref.span_embeddings, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.logits, ref.logits, rtol=1e-4, atol=1e-4)


def test_span_dropout_is_relu_then_dropout():
    """Kept with probability 1 - p, scaled by 1 / (1 - p), zero where relu is; gradients follow the mask."""
    from gliner_exp.model.fast_dropout import dropout, relu_dropout as span_dropout

    p = 0.4
    x = torch.randn(400, 2500, requires_grad=True)
    torch.manual_seed(3)
    out = span_dropout(x, p)
    kept = out != 0
    positive = x.detach() > 0
    assert not (kept & ~positive).any()
    rate = round((1 - p) * 2**16) / 2**16  # p is rounded to a multiple of 2**-16; the scale matches the rate
    assert abs(rate - (1 - p)) < 1e-5
    torch.testing.assert_close(out[kept], x.detach()[kept] / rate)
    kept_rate = kept.sum().item() / positive.sum().item()
    assert abs(kept_rate - (1 - p)) < 0.005, kept_rate  # 500k positive draws: the std of the rate is ~0.0007
    out.backward(torch.ones_like(out))
    torch.testing.assert_close(x.grad, kept.float() / rate)
    torch.manual_seed(3)
    assert torch.equal(span_dropout(x.detach(), p), out.detach())  # seeded: the same draws again
    torch.manual_seed(3)
    assert torch.equal(dropout(x.detach().relu(), p), out.detach())  # one mask draw for both


def forward_in_eval_then_train(built, n_examples: int, calls: list) -> None:
    """One forward of the built model in eval mode (which must record no ``calls``), then one in training mode."""
    from gliner_exp.model.gliner_internals import core

    inner = core(built.model)
    batch = built.trainer.data_collator([built.trainer.train_dataset[i] for i in range(n_examples)])
    with torch.no_grad():
        inner.eval()
        inner(**batch)
        assert calls == []
        inner.train()
        inner(**batch)


def test_every_dropout_module_of_a_built_model_uses_the_cheap_mask(built, monkeypatch):
    from gliner_exp.model import fast_dropout
    from gliner_exp.model.gliner_internals import core

    inner = core(built.model)
    modules = [m for m in inner.modules() if type(m) is torch.nn.Dropout]
    assert modules and all("forward" in vars(m) for m in modules)
    calls = []
    monkeypatch.setattr(fast_dropout, "dropout", lambda x, p: calls.append(p) or x)
    forward_in_eval_then_train(built, 2, calls)
    # the encoder's (hidden_dropout_prob) and gliner's heads' (model.dropout) alike
    assert set(calls) == {m.p for m in modules if m.p > 0} == {0.1, built.model.config.dropout}


def test_span_dropout_is_used_in_training_only(built, monkeypatch):
    from gliner_exp.model import fast_dropout

    calls = []
    real = fast_dropout.relu_dropout
    monkeypatch.setattr(fast_dropout, "relu_dropout", lambda x, p: calls.append(p) or real(x, p))
    forward_in_eval_then_train(built, 4, calls)
    assert calls == [built.model.config.dropout]


def test_span_grid_matches_gathered_endpoints_and_other_layouts_fall_back():
    from gliner.modeling.span_rep import extract_elements

    from gliner_exp.model.gliner_internals import _is_span_grid, _span_grid_sum

    length, width = 7, 3
    start, end = torch.randn(2, length, 5), torch.randn(2, length, 5)
    idx = torch.tensor([(i, i + w) for i in range(length) for w in range(width)]).expand(2, -1, -1)
    mask = idx[..., 1] < length
    mask[1, 9:] = False  # the second text is shorter: padding spans are zero, as gliner's collator pads them
    idx = idx * mask.unsqueeze(-1)
    assert _is_span_grid(idx, mask, width)
    gathered = extract_elements(start, idx[..., 0]) + extract_elements(end, idx[..., 1])
    torch.testing.assert_close(_span_grid_sum(start, end, width)[mask], gathered[mask])
    shuffled = idx[:, torch.randperm(idx.size(1))]
    assert not _is_span_grid(shuffled, torch.ones_like(mask), width)


def test_inference_logits_equal_gliners(built):
    """Under no_grad (evaluation, predict) the span layer works in place; the scores stay gliner's."""
    from gliner_exp.model.gliner_internals import core

    inner = core(built.model).eval()
    batch = built.trainer.data_collator([built.trainer.train_dataset[i] for i in range(8)])
    with torch.no_grad():
        out = inner(**batch).logits
        with _gliner_forwards(inner):
            ref = inner(**batch).logits
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
