"""Data shipped with the provider package: `models.json`, a subset of models.dev's catalog (api.json format)."""
