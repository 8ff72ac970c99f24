"""A `monolab sweep` output folder: runs.csv as a typed DataFrame, loss
logs, checkpoints, and a metric over every checkpoint."""
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import safetensors

# runs.csv's columns that are not floats (README.md "Outputs"); a column this
# table does not know is read as a number when it can be one.
RUN_INTS = ["seed", "N", "m", "k", "out", "steps", "batch", "t_max", "mono_neurons", "dead_neurons", "diverged"]
RUN_CATEGORIES = ["task", "activation", "sampling", "optimizer", "schedule", "precision"]
RUN_STRINGS = ["run_id"]


def read_runs(path):
    """runs.csv with ints, floats (nan where undefined), categories and the run id as a string."""
    df = pd.read_csv(path, dtype={c: str for c in RUN_STRINGS + RUN_CATEGORIES}, keep_default_na=False,
                     na_values=["nan"])
    for c in df.columns:
        if c in RUN_STRINGS:
            continue
        if c in RUN_CATEGORIES:
            df[c] = df[c].astype("category")
        elif c in RUN_INTS:
            df[c] = df[c].astype("int64")
        else:
            try:
                df[c] = pd.to_numeric(df[c]).astype("float64")
            except (TypeError, ValueError):
                pass
    return df


class Checkpoint(dict):
    """One checkpoint's arrays by name (W1, b1, W2, P, and Q for the
    reprojector), with .meta (every hyperparameter, typed), .step, .run_id
    and .path."""

    def __init__(self, path, torch=False):
        tensors, meta = safetensors.load(path)
        super().__init__(safetensors.as_torch(tensors) if torch else tensors)
        self.path = str(path)
        self.meta = safetensors.typed(meta)
        self.run_id = self.meta.get("run_id")
        self.step = self.meta.get("step")

    def __repr__(self):
        shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in self.items())
        return f"Checkpoint({self.run_id} step {self.step}: {shapes})"


_STEP = re.compile(r"^step_(\d+)\.safetensors$")


class Sweep:
    """A sweep folder. .runs is runs.csv (finished runs only), .config the
    resolved config.yaml as a dict (when PyYAML is installed)."""

    def __init__(self, path):
        self.path = Path(path)
        csv = self.path / "runs.csv"
        if not csv.is_file():
            raise FileNotFoundError(f"{csv}: not found; is {self.path} a monolab sweep folder?")
        self.runs = read_runs(csv)
        self.config = None
        cfg = self.path / "config.yaml"
        if cfg.is_file():
            try:
                import yaml
                self.config = yaml.safe_load(cfg.read_text())
            except ImportError:
                pass

    def __repr__(self):
        return f"Sweep({str(self.path)!r}: {len(self.runs)} runs)"

    def loss(self, run_id):
        """loss/RUN_ID.csv: step (int), loss and lr (float)."""
        df = pd.read_csv(self.path / "loss" / f"{run_id}.csv", dtype={"step": "int64", "loss": "float64", "lr": "float64"})
        return df

    def losses(self):
        """Every loss log in the folder as one long frame with a run_id
        column (logs of runs still training included)."""
        d = self.path / "loss"
        frames = [self.loss(p.stem).assign(run_id=p.stem) for p in sorted(d.glob("*.csv"))] if d.is_dir() else []
        if not frames:
            return pd.DataFrame({"run_id": pd.Series(dtype=str), "step": pd.Series(dtype="int64"),
                                 "loss": pd.Series(dtype="float64"), "lr": pd.Series(dtype="float64")})
        return pd.concat(frames, ignore_index=True)[["run_id", "step", "loss", "lr"]]

    def checkpoint_steps(self, run_id):
        """The steps at which run_id has a checkpoint, ascending."""
        d = self.path / "ckpt" / str(run_id)
        if not d.is_dir():
            return []
        return sorted(int(m.group(1)) for m in map(_STEP.match, os.listdir(d)) if m)

    def checkpoint(self, run_id, step=None, torch=False):
        """run_id's checkpoint at step (default: its last), as numpy arrays
        (torch tensors with torch=True)."""
        steps = self.checkpoint_steps(run_id)
        if not steps:
            raise FileNotFoundError(f"{self.path}/ckpt/{run_id}: no checkpoints")
        step = steps[-1] if step is None else step
        if step not in steps:
            raise FileNotFoundError(f"{self.path}/ckpt/{run_id}: no checkpoint at step {step} (it has {steps})")
        return Checkpoint(self.path / "ckpt" / str(run_id) / f"step_{step:06d}.safetensors", torch=torch)

    def checkpoints(self, final_only=False, torch=False):
        """Every checkpoint of every finished run, in runs.csv order then by step."""
        for run_id in self.runs.run_id:
            steps = self.checkpoint_steps(run_id)
            for step in steps[-1:] if final_only else steps:
                yield self.checkpoint(run_id, step, torch=torch)

    def map_checkpoints(self, fn, final_only=False, torch=False):
        """fn(checkpoint) for every checkpoint: a number, or a dict of them.
        Returns one row per checkpoint (run_id, step, the metric columns)
        joined with that run's row of runs.csv."""
        rows = []
        for ck in self.checkpoints(final_only=final_only, torch=torch):
            v = fn(ck)
            name = getattr(fn, "__name__", "metric")
            v = dict(v) if isinstance(v, dict) else {"metric" if name == "<lambda>" else name: v}
            rows.append({"run_id": ck.run_id, "step": int(ck.step), **{k: _scalar(x) for k, x in v.items()}})
        out = pd.DataFrame(rows, columns=None if rows else ["run_id", "step"])
        return out.merge(self.runs, on="run_id", how="left")


def _scalar(x):
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        return x.item()
    return x


def load_sweep(path):
    return Sweep(path)
