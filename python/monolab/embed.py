"""A `monolab embed` output folder: neurons, examples, clusters, summary,
settings, linkage matrices and similar clusters."""
import json
from pathlib import Path

import pandas as pd

from . import safetensors


def _settings(path):
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return safetensors.typed(out)


class Embed:
    """.neurons, .examples, .clusters: the CSVs as DataFrames (pandas infers
    their ints and floats; nan where undefined); .summary (toy models) and
    .settings as dicts."""

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / "neurons.csv").is_file():
            raise FileNotFoundError(f"{self.path}/neurons.csv: not found; is {self.path} a monolab embed folder?")
        self.neurons = pd.read_csv(self.path / "neurons.csv")
        self.examples = pd.read_csv(self.path / "examples.csv")
        clusters = self.path / "clusters.csv"
        self.clusters = pd.read_csv(clusters) if clusters.is_file() else None
        summary = self.path / "summary.json"
        self.summary = json.loads(summary.read_text()) if summary.is_file() else None
        self.settings = _settings(self.path / "embed_settings.txt")
        self._linkage = None

    def __repr__(self):
        return f"Embed({str(self.path)!r}: {len(self.neurons)} neurons)"

    def linkage(self, neuron):
        """Neuron's scipy linkage matrix (n_examples - 1 rows of 4)."""
        if self._linkage is None:
            self._linkage, _ = safetensors.load(self.path / "linkage.safetensors")
        off = self._linkage["offsets"]
        return self._linkage["Z"][off[neuron]:off[neuron + 1]]

    def similar(self):
        """similar.safetensors: similar_id, similarity, central_embedding, and its metadata."""
        return safetensors.load(self.path / "similar.safetensors")


def load_embed(path):
    return Embed(path)
