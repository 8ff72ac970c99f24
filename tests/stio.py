"""safetensors for the tests: the monolab package's reader, and a writer
that can corrupt headers on purpose."""
import json
import struct

import numpy as np

from monolab.safetensors import load  # noqa: F401  (the package's reader: the tests read what users read)


def save(path, tensors, meta=None, header_override=None):
    """Write a safetensors file; header_override lets tests corrupt it."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.float64): "F64",
              np.dtype(np.int64): "I64"}[a.dtype]
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    if meta:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    if header_override:
        header_override(header)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
