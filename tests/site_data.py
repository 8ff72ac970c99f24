"""Reading an explorer site's data files back in the tests: each is a call
ML.<name>(...) whose last argument is JSON, or for blocks of neurons and
token-search shards a string of base64 gzip-compressed JSON."""
import base64
import gzip
import json
import os


def call_args(path):
    """The arguments of the file's one call, as a JSON list."""
    text = open(path, encoding="utf-8").read()
    return json.loads("[" + text[text.index("(") + 1:text.rindex(")")] + "]")


def packed(path):
    """The JSON a block or shard file carries."""
    return json.loads(gzip.decompress(base64.b64decode(call_args(path)[-1])))


def neurons(site, layer=0):
    """{neuron: its object} over every block of the layer."""
    out = {}
    bdir = os.path.join(site, "data", f"L{layer}", "b")
    for name in os.listdir(bdir):
        for obj in packed(os.path.join(bdir, name)):
            out[obj["n"]] = obj
    return out
