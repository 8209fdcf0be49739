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
    cfg = as_config(compose_cfg(TINY, run_dir=run_dir))
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
def test_logits_loss_and_gradients_equal_gliners(built, training):
    from gliner_exp.model.gliner_internals import core

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
