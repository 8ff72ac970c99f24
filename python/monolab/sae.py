"""A `monolab sae` output folder (docs/sae.md)."""
import json
from pathlib import Path

import pandas as pd

from . import safetensors


class Sae:
    """.saes (saes.csv), .train_log (train_log.csv), .config (config.yaml as
    a dict when PyYAML is installed); weights(id) reads one SAE."""

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / "saes.csv").is_file():
            raise FileNotFoundError(f"{self.path}/saes.csv: not found; is {self.path} a monolab sae folder?")
        self.saes = pd.read_csv(self.path / "saes.csv", dtype={"sae_id": str})
        log = self.path / "train_log.csv"
        self.train_log = pd.read_csv(log, dtype={"sae": str}) if log.is_file() else None
        self.config = None
        try:
            import yaml
            self.config = yaml.safe_load((self.path / "config.yaml").read_text())
        except (ImportError, FileNotFoundError):
            pass

    def __repr__(self):
        return f"Sae({str(self.path)!r}: {len(self.saes)} SAEs)"

    def weights(self, sae_id, torch=False):
        """(tensors, cfg): W_enc, b_enc, W_dec, b_dec and cfg.json, SAELens's layout."""
        d = self.path / "saes" / str(sae_id)
        tensors, _ = safetensors.load(d / "sae_weights.safetensors")
        return (safetensors.as_torch(tensors) if torch else tensors), json.loads((d / "cfg.json").read_text())


def load_sae(path):
    return Sae(path)
