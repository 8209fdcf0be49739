"""Secret values from the environment are scrubbed from what gliner_exp writes."""

from __future__ import annotations

from gliner_exp.integrations.redaction import redact


def test_secrets_are_redacted(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-secret-0123456789")
    monkeypatch.setenv("HF_TOKEN", "hf_secret0123456789")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to scrub meaningfully
    assert redact({"a": ["x wandb-secret-0123456789 y", 3], "hf_secret0123456789": None, "abc": "abc"}) == \
        {"a": ["x *** y", 3], "***": None, "abc": "abc"}
    assert redact(("hf_secret0123456789",)) == ("***",)

