"""A safetensors reader in plain numpy (no safetensors package needed).

BF16 tensors are widened to float32, as numpy has no bfloat16."""
import json
import struct

import numpy as np

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def load(path):
    """(tensors, metadata): name -> read-only numpy array, and the
    __metadata__ strings as they are stored."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None) or {}
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        buf = raw[8 + n + a:8 + n + b]
        if e["dtype"] == "BF16":  # the high half of a float32
            arr = (np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=_DTYPES[e["dtype"]])
        out[name] = arr.reshape(e["shape"])
    return out, meta


def typed(meta):
    """Metadata strings as numbers where they are numbers."""
    out = {}
    for k, v in meta.items():
        for conv in (int, float):
            try:
                out[k] = conv(v)
                break
            except (TypeError, ValueError):
                pass
        else:
            out[k] = v
    return out


def as_torch(tensors):
    """The same tensors as torch tensors (copies: the arrays are read-only)."""
    import torch
    return {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
