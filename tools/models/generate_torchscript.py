#!/usr/bin/python3
"""Builds Hyperion's TorchScript test and benchmark models with Debian's PyTorch (python3-torch).

    /usr/bin/python3 tools/models/generate_torchscript.py              # testdata/torchscript (committed)
    /usr/bin/python3 tools/models/generate_torchscript.py --bench DIR  # DIR/<variant>/mlp_heavy_ts from the ONNX one

Test models are small modules with fixed inputs; testdata/torchscript/expected.json holds, for each
model, the inputs and the outputs PyTorch itself computes from them, so tests check that Hyperion's
TorchScript backend answers exactly as PyTorch does. The benchmark model is the ONNX benchmark's heavy
MLP (tools/models/generate_models.py --bench) rebuilt as TorchScript from the very same weights, so the
benchmark compares the two backends on one network.
"""

import argparse
import json
import os
from typing import List, Tuple

import torch

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# OIP datatype -> (torch dtype, a dtype-preserving computation, its description). A computing op makes
# equality meaningful; PyTorch decides what each one returns, overflow included.
DATATYPES = {
    "BOOL": (torch.bool, lambda x: torch.logical_not(x), "logical_not(x)"),
    "UINT8": (torch.uint8, lambda x: x * 3, "x * 3 (wraps modulo 256)"),
    "INT8": (torch.int8, lambda x: -x, "-x"),
    "INT16": (torch.int16, lambda x: -x, "-x"),
    "INT32": (torch.int32, lambda x: x * 2 - 1, "2x - 1"),
    "INT64": (torch.int64, lambda x: x * 2 - 1, "2x - 1"),
    "FP16": (torch.float16, lambda x: x * 2, "2x"),
    "FP32": (torch.float32, lambda x: torch.tanh(x) + x, "tanh(x) + x"),
    "FP64": (torch.float64, lambda x: torch.exp(x) - 1, "exp(x) - 1"),
}

SAMPLE_ROWS = {
    torch.bool: [[True, False, True, False], [False, False, True, True], [True, True, True, True]],
    torch.uint8: [[0, 1, 85, 86], [100, 200, 250, 255], [7, 8, 9, 10]],
    torch.int8: [[-128, -1, 0, 127], [5, -5, 10, -10], [1, 2, 3, 4]],
    torch.int16: [[-32768, -1, 0, 32767], [300, -300, 12, -12], [1, 2, 3, 4]],
    torch.int32: [[-2147483648, -1, 0, 2147483647], [123456, -654321, 7, 8], [1, 2, 3, 4]],
    torch.int64: [[-4611686018427387904, -1, 0, 4611686018427387903], [123456789012, -9, 7, 8], [1, 2, 3, 4]],
    torch.float16: [[0.5, -1.25, 3.0, 1024.0], [-0.0, 2.5, -7.75, 0.125], [1.0, 2.0, 4.0, 8.0]],
    torch.float32: [[0.5, -1.25, 3.0, 0.1], [-2.0, 2.5, -7.75, 0.125], [1.0, 2.0, 4.0, 8.0]],
    torch.float64: [[0.5, -1.25, 3.0, 0.1], [-2.0, 2.5, -0.75, 0.125], [1.0, 2.0, 0.25, 1e-3]],
}


class Elementwise(torch.nn.Module):
    """Traced: a lambda cannot be scripted, and tracing an elementwise op keeps every dimension variable."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class TwoInTwoOut(torch.nn.Module):
    """A linear layer on FP32 features and a count on INT64 ids: forward(features, ids) -> (scores, counts)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(17)
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, features: torch.Tensor, ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.linear(features), (ids > 0).sum(dim=1, keepdim=True)


class Fixed(torch.nn.Module):
    """No batch dimension: a 2x3 matrix in, 2x it out, returned as a transposed (non-contiguous) view."""

    def forward(self, matrix):
        return (matrix.t() * 2).t()


class Mlp(torch.nn.Module):
    def __init__(self, layers: List[Tuple[torch.Tensor, torch.Tensor]]):
        super().__init__()
        self.layers = torch.nn.ModuleList()
        for weight, bias in layers:
            linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
            with torch.no_grad():
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
            self.layers.append(linear)

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i != last:
                x = torch.relu(x)
        return x


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def save(module, repo, name, config, example=None):
    version_dir = os.path.join(repo, name, "1")
    os.makedirs(version_dir, exist_ok=True)
    scripted = torch.jit.trace(module.eval(), example) if example is not None else torch.jit.script(module.eval())
    scripted.save(os.path.join(version_dir, "model.pt"))
    if config is not None:
        write_json(os.path.join(repo, name, "config.json"), config)
    return scripted


def tensor(name, datatype, dims):
    return {"name": name, "datatype": datatype, "dims": dims}


def to_list(value):
    return value.tolist()


def write_testdata(repo):
    expected = {}
    for datatype, (dtype, fn, doc) in DATATYPES.items():
        name = f"ts_{datatype.lower()}"
        config = {
            "platform": "pytorch_libtorch",
            "max_batch_size": 8,
            "input": [tensor("INPUT__0", datatype, [4])],
            "output": [tensor("OUTPUT__0", datatype, [4])],
            "dynamic_batching": {"max_queue_delay_microseconds": 2000},
        }
        rows = torch.tensor(SAMPLE_ROWS[dtype], dtype=dtype)
        scripted = save(Elementwise(fn), repo, name, config, example=(rows,))
        with torch.no_grad():
            out = scripted(rows)
        assert out.dtype == dtype, f"{name}: {doc} changed the dtype to {out.dtype}"
        expected[name] = {
            "doc": doc,
            "inputs": {"INPUT__0": {"datatype": datatype, "shape": list(rows.shape), "data": to_list(rows)}},
            "outputs": {"OUTPUT__0": {"datatype": datatype, "shape": list(out.shape), "data": to_list(out)}},
        }

    # Outputs listed out of order under Triton's positional names: OUTPUT__1 is the tuple's second item.
    two = TwoInTwoOut()
    config = {
        "platform": "pytorch_libtorch",
        "max_batch_size": 4,
        "input": [tensor("INPUT__0", "FP32", [4]), tensor("INPUT__1", "INT64", [-1])],
        "output": [tensor("OUTPUT__1", "INT64", [1]), tensor("OUTPUT__0", "FP32", [3])],
    }
    scripted = save(two, repo, "ts_two_outputs", config)
    features = torch.tensor([[0.5, -1.0, 2.0, 0.25], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float32)
    ids = torch.tensor([[3, 0, -2, 9, 1], [0, 0, 0, 4, 0]], dtype=torch.int64)
    with torch.no_grad():
        scores, counts = scripted(features, ids)
    expected["ts_two_outputs"] = {
        "doc": "forward(features, ids) -> (linear(features), count of ids > 0 per row)",
        "inputs": {
            "INPUT__0": {"datatype": "FP32", "shape": [2, 4], "data": to_list(features)},
            "INPUT__1": {"datatype": "INT64", "shape": [2, 5], "data": to_list(ids)},
        },
        "outputs": {
            "OUTPUT__0": {"datatype": "FP32", "shape": [2, 3], "data": to_list(scores)},
            "OUTPUT__1": {"datatype": "INT64", "shape": [2, 1], "data": to_list(counts)},
        },
    }

    # Named inputs and outputs (no positional suffix), no batch dimension, traced rather than scripted.
    config = {
        "platform": "pytorch_libtorch",
        "input": [tensor("matrix", "FP32", [2, 3])],
        "output": [tensor("doubled", "FP32", [2, 3])],
    }
    matrix = torch.tensor([[1.0, -2.0, 3.5], [0.25, 8.0, -0.5]], dtype=torch.float32)
    scripted = save(Fixed(), repo, "ts_fixed", config, example=(matrix,))
    with torch.no_grad():
        doubled = scripted(matrix)
    expected["ts_fixed"] = {
        "doc": "2 * matrix, through transposed views; traced",
        "inputs": {"matrix": {"datatype": "FP32", "shape": [2, 3], "data": to_list(matrix)}},
        "outputs": {"doubled": {"datatype": "FP32", "shape": [2, 3], "data": to_list(doubled)}},
    }
    write_json(os.path.join(repo, "expected.json"), expected)


def onnx_mlp_layers(path):
    """The (weight, bias) pairs of a Gemm/Relu MLP that generate_models.py wrote, in order."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    weights = {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()) for init in model.graph.initializer}
    layers = []
    for node in model.graph.node:
        if node.op_type == "Gemm":
            layers.append((weights[node.input[1]], weights[node.input[2]]))
    return layers


def write_bench(out_dir):
    for variant in ("batching-on", "batching-off"):
        repo = os.path.join(out_dir, variant)
        for name in ("mlp_heavy",):
            with open(os.path.join(repo, name, "config.json"), encoding="utf-8") as f:
                config = json.load(f)
            config["name"] = f"{name}_ts"
            config["platform"] = "pytorch_libtorch"
            config.pop("optimization", None)
            mlp = Mlp(onnx_mlp_layers(os.path.join(repo, name, "1", "model.onnx")))
            save(mlp, repo, f"{name}_ts", config)
    print(f"TorchScript bench models written beside the ONNX ones in {out_dir}/batching-on and {out_dir}/batching-off")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", metavar="DIR", help="add a TorchScript twin of the ONNX benchmark's mlp_heavy under DIR")
    parser.add_argument("--models", default=os.path.join(REPO_ROOT, "testdata", "torchscript"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.bench:
        write_bench(os.path.abspath(args.bench))
    else:
        write_testdata(args.models)
        print(f"TorchScript test models written to {args.models}")


if __name__ == "__main__":
    main()
