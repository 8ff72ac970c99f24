"""Running the monolab binary from Python (a notebook, a script) with a
progress bar, and returning what it wrote, loaded."""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .embed import Embed
from .sae import Sae
from .sweep import Sweep


class MonolabError(RuntimeError):
    """The command failed; .returncode (2: bad input) and .stderr."""

    def __init__(self, args, returncode, stderr):
        last = [l for l in stderr.splitlines() if l.strip()]
        super().__init__(f"{' '.join(map(str, args))} exited {returncode}: {last[-1] if last else '(no message)'}")
        self.returncode, self.stderr = returncode, stderr


def binary():
    """The monolab binary: $MONOLAB_BIN, else build/monolab of the checkout
    this package sits in, else `monolab` on PATH."""
    env = os.environ.get("MONOLAB_BIN")
    if env:
        return env
    here = Path(__file__).resolve().parents[2] / "build" / "monolab"
    if here.is_file():
        return str(here)
    found = shutil.which("monolab")
    if found:
        return found
    raise FileNotFoundError("monolab binary not found: build it with `make`, install it with `make install`, "
                            "or set MONOLAB_BIN")


def _bar(progress, desc, unit):
    if not progress:
        return None
    try:
        try:
            import ipywidgets  # noqa: F401  (tqdm.auto needs it for the notebook widget)
            from tqdm.auto import tqdm
        except ImportError:
            from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(desc=desc, unit=unit)


_RUNS = re.compile(r"runs (\d+)/(\d+)")


def run(args, progress=True, desc="monolab", unit="run"):
    """Runs `monolab ARGS...`; a tqdm bar follows the runs finished (sweeps)
    and shows the latest line. Returns the stderr text; raises MonolabError
    on a non-zero exit."""
    cmd = [binary(), *map(str, args)]
    bar = _bar(progress, desc, unit)
    lines = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1) as p:
        for line in p.stderr:
            lines.append(line)
            if bar is None:
                continue
            m = _RUNS.search(line)
            if m:
                done, total = int(m.group(1)), int(m.group(2))
                bar.total = total
                bar.update(done - bar.n)
            bar.set_postfix_str(line.strip().removeprefix("[monolab] ")[:60], refresh=True)
        stdout = p.stdout.read()
    if bar is not None:
        bar.close()
    err = "".join(lines)
    if p.returncode != 0:
        raise MonolabError(cmd, p.returncode, err)
    return err if not stdout else err + stdout


def _overrides(overrides):
    if isinstance(overrides, dict):
        return [f"{k}={_yaml_value(v)}" for k, v in overrides.items()]
    return list(overrides or [])


def _yaml_value(v):
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _config_file(config, workdir):
    """A config path as is; a dict written to a YAML file first."""
    if isinstance(config, dict):
        import yaml
        name = config.get("name", "sweep")
        path = Path(workdir) / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path
    return Path(config)


def sweep(config, overrides=None, outdir=None, device=None, resume=False, progress=True):
    """`monolab sweep` on a config file (or a dict, written to YAML), with
    overrides as a dict ({"model.k": [16, 32]}) or "key=value" strings.
    outdir defaults to the binary's runs/<config name>. Returns the Sweep."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _config_file(config, tmp)
        out = Path(outdir) if outdir else Path("runs") / cfg.stem
        args = ["sweep", cfg, *_overrides(overrides), "-o", out]
        if device:
            args += ["--device", device]
        if resume:
            args.append("--resume")
        run(args, progress, desc=f"sweep {cfg.stem}")
    return Sweep(out)


_WROTE = re.compile(r"wrote (.+)/neurons\.csv")


def embed(input, outdir=None, progress=True, **options):
    """`monolab embed INPUT` (an activation file or a sweep checkpoint);
    options by their flag names, e.g. act_frac=0.5, similar=0. Returns the Embed."""
    args = ["embed", input]
    if outdir:
        args += ["-o", outdir]
    for k, v in options.items():
        args += [f"--{k.replace('_', '-')}", v]
    err = run(args, progress, desc="embed", unit="line")
    m = _WROTE.search(err)
    return Embed(outdir or m.group(1))


def sae(config, overrides=None, outdir=None, progress=True):
    """`monolab sae` on a config file (or dict). Returns the Sae folder."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _config_file(config, tmp)
        out = Path(outdir) if outdir else Path("runs") / cfg.stem
        run(["sae", cfg, *_overrides(overrides), "-o", out], progress, desc=f"sae {cfg.stem}", unit="line")
    return Sae(out)
