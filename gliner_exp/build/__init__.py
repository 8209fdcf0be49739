"""Builders that turn the validated config into gliner/transformers objects."""
