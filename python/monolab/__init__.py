"""monolab from Python: load what the binary writes into pandas and numpy,
and launch it from a notebook. Pure Python; the binary does the compute.

    import monolab
    sw = monolab.sweep("configs/quickstart.yaml", outdir="runs/quickstart")  # or monolab.load_sweep(...)
    sw.runs.groupby("k").mono_per_feature.mean()
    sw.map_checkpoints(lambda ck: float((ck["b1"] < 0).mean()))
"""
from .embed import Embed, load_embed
from .launch import MonolabError, binary, embed, run, sae, sweep
from .sae import Sae, load_sae
from .safetensors import load as load_safetensors
from .sweep import Checkpoint, Sweep, load_sweep, read_runs

__all__ = ["Checkpoint", "Embed", "MonolabError", "Sae", "Sweep", "binary", "embed", "load_embed", "load_safetensors",
           "load_sae", "load_sweep", "read_runs", "run", "sae", "sweep"]
