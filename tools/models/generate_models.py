#!/usr/bin/python3
"""Builds Hyperion's ONNX test, sample and benchmark models with onnx.helper.

Run with Debian's Python, which has python3-onnx, python3-numpy and python3-sklearn:

    /usr/bin/python3 tools/models/generate_models.py            # testdata/models + samples/digits
    /usr/bin/python3 tools/models/generate_models.py --bench DIR # benchmark repositories only

Every random draw uses a fixed seed and the graphs carry no timestamps, so re-running writes
identical bytes; `git status` after a run shows whether anything changed.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

# ONNX Runtime 1.32 reads every IR and opset that onnx 1.12 writes; opset 13 has the
# axes-as-attribute ReduceSum replaced by the input form and Softmax over one axis.
OPSET = 13
IR_VERSION = 8
PRODUCER = "hyperion-generate_models"
PRODUCER_VERSION = "1"

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT_PATH = "tools/models/generate_models.py"

# OIP datatype -> (ONNX element type, the op applied to INPUT0). A computing op makes equality
# tests meaningful: Neg for signed and float types, Add(x, x) for UINT32/UINT64, Not for BOOL.
# UINT8/UINT16 get Identity because opset 13's Add does not take them, and BYTES because
# ONNX Runtime has no string arithmetic.
IDENTITY_MODELS = {
    "BOOL": (TensorProto.BOOL, "Not"),
    "UINT8": (TensorProto.UINT8, "Identity"),
    "UINT16": (TensorProto.UINT16, "Identity"),
    "UINT32": (TensorProto.UINT32, "AddSelf"),
    "UINT64": (TensorProto.UINT64, "AddSelf"),
    "INT8": (TensorProto.INT8, "Neg"),
    "INT16": (TensorProto.INT16, "Neg"),
    "INT32": (TensorProto.INT32, "Neg"),
    "INT64": (TensorProto.INT64, "Neg"),
    "FP16": (TensorProto.FLOAT16, "Neg"),
    "FP32": (TensorProto.FLOAT, "Neg"),
    "FP64": (TensorProto.DOUBLE, "Neg"),
    "BYTES": (TensorProto.STRING, "Identity"),
}


def make_model(graph):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
    )
    model.ir_version = IR_VERSION
    checker.check_model(model, full_check=True)
    return model


def save(model, repo, name, version=1, config=None):
    version_dir = os.path.join(repo, name, str(version))
    os.makedirs(version_dir, exist_ok=True)
    with open(os.path.join(version_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    config_path = os.path.join(repo, name, "config.json")
    if config is not None:
        write_json(config_path, config)
    elif os.path.exists(config_path):
        os.remove(config_path)


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=False)
        f.write("\n")


def tensor_info(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def identity_model(datatype):
    elem_type, op = IDENTITY_MODELS[datatype]
    shape = ["batch", 4]
    if op == "AddSelf":
        node = helper.make_node("Add", ["INPUT0", "INPUT0"], ["OUTPUT0"])
    else:
        node = helper.make_node(op, ["INPUT0"], ["OUTPUT0"])
    graph = helper.make_graph(
        [node],
        f"identity_{datatype.lower()}",
        [tensor_info("INPUT0", elem_type, shape)],
        [tensor_info("OUTPUT0", elem_type, shape)],
        doc_string=f"OUTPUT0 = {op if op != 'AddSelf' else 'INPUT0 + INPUT0'}(INPUT0)",
    )
    return make_model(graph)


def simple_model():
    shape = ["batch", 16]
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
            helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"]),
        ],
        "simple",
        [tensor_info("INPUT0", TensorProto.INT32, shape), tensor_info("INPUT1", TensorProto.INT32, shape)],
        [tensor_info("OUTPUT0", TensorProto.INT32, shape), tensor_info("OUTPUT1", TensorProto.INT32, shape)],
        doc_string="Triton's simple example: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1",
    )
    return make_model(graph)


def mlp_model(name, sizes, seed, input_name="input", output_name="logits"):
    """A ReLU MLP with He-initialised random weights; sizes = [in, hidden..., out]."""
    rng = np.random.RandomState(seed)
    nodes, initializers = [], []
    current = input_name
    layers = len(sizes) - 1
    for i in range(layers):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        # Gemm with transB keeps the weight in the [out, in] layout PyTorch exports.
        weight = (rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        bias = (rng.standard_normal(fan_out) * 0.01).astype(np.float32)
        initializers += [numpy_helper.from_array(weight, f"fc{i}.weight"), numpy_helper.from_array(bias, f"fc{i}.bias")]
        gemm_out = output_name if i == layers - 1 else f"fc{i}"
        nodes.append(helper.make_node("Gemm", [current, f"fc{i}.weight", f"fc{i}.bias"], [gemm_out], transB=1))
        current = gemm_out
        if i != layers - 1:
            nodes.append(helper.make_node("Relu", [gemm_out], [f"relu{i}"]))
            current = f"relu{i}"
    graph = helper.make_graph(
        nodes,
        name,
        [tensor_info(input_name, TensorProto.FLOAT, ["batch", sizes[0]])],
        [tensor_info(output_name, TensorProto.FLOAT, ["batch", sizes[-1]])],
        initializer=initializers,
        doc_string="MLP " + " -> ".join(str(s) for s in sizes) + " with ReLU, random weights (seed %d)" % seed,
    )
    return make_model(graph)


def row_sum_model():
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["input", "axes"], ["sum"], keepdims=1)],
        "row_sum",
        [tensor_info("input", TensorProto.FLOAT, ["batch", "length"])],
        [tensor_info("sum", TensorProto.FLOAT, ["batch", 1])],
        initializer=[axes],
        doc_string="sum = ReduceSum(input, axis 1): rows of different lengths cannot share a batch",
    )
    return make_model(graph)


def fixed_no_batch_model():
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "two"], ["output"])],
        "fixed_no_batch",
        [tensor_info("input", TensorProto.FLOAT, [4])],
        [tensor_info("output", TensorProto.FLOAT, [4])],
        initializer=[two],
        doc_string="output = 2 * input, fixed shape [4], no batch dimension",
    )
    return make_model(graph)


def scale_pixels_model():
    sixteen = numpy_helper.from_array(np.array(16.0, dtype=np.float32), "sixteen")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "sixteen"], ["pixels"])],
        "scale_pixels",
        [tensor_info("image", TensorProto.FLOAT, ["batch", 64])],
        [tensor_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        initializer=[sixteen],
        doc_string="pixels = 16 * image: 8x8 images with values 0..1 to the digits model's 0..16 (a pipeline's first step)",
    )
    return make_model(graph)


# --- digits: the sample model -------------------------------------------------------------

DIGITS_TRAINING = {
    "estimator": "sklearn.linear_model.LogisticRegression",
    "preprocessing": "sklearn.preprocessing.StandardScaler (folded into the Gemm weights)",
    "C": 0.1,
    "solver": "lbfgs",
    "max_iter": 2000,
    "multi_class": "multinomial",
    "test_size": 0.25,
    "split_random_state": 0,
    "stratify": True,
}


def train_digits():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    data = load_digits()
    x = data.data.astype(np.float64)
    y = data.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y,
        test_size=DIGITS_TRAINING["test_size"],
        random_state=DIGITS_TRAINING["split_random_state"],
        stratify=y,
    )
    scaler = StandardScaler().fit(x_train)
    classifier = LogisticRegression(
        C=DIGITS_TRAINING["C"],
        solver=DIGITS_TRAINING["solver"],
        max_iter=DIGITS_TRAINING["max_iter"],
        multi_class=DIGITS_TRAINING["multi_class"],
    ).fit(scaler.transform(x_train), y_train)
    return scaler, classifier, x_train, x_test, y_train, y_test


def digits_model(scaler, classifier):
    # (x - mean) / scale @ W.T + b  ==  x @ (W / scale).T + (b - (W / scale) @ mean)
    weight = (classifier.coef_ / scaler.scale_).astype(np.float32)
    bias = (classifier.intercept_ - (classifier.coef_ / scaler.scale_) @ scaler.mean_).astype(np.float32)
    model = digits_graph(
        "digits", weight, bias,
        "Handwritten digit classifier: 8x8 images (64 pixels, values 0..16) -> digit 0..9. "
        "Standardised multinomial logistic regression trained on scikit-learn's digits data set.")
    return model, weight, bias


def digits_shifted_model(weight, bias):
    """The digits classifier with its classes moved up by one: it answers as fast as digits, never fails, and
    predicts the next digit (9 becomes 0) for every image. A canary of it is fast but wrong, which is what the
    rollout quality gate tests need."""
    return digits_graph(
        "digits_shifted", np.roll(weight, 1, axis=0), np.roll(bias, 1),
        "The digits classifier with every class moved up by one: fast, error-free and wrong.")


def digits_graph(name, weight, bias, doc_string):
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["pixels", "weight", "bias"], ["logits"], transB=1),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
        ],
        name,
        [tensor_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        [
            tensor_info("probabilities", TensorProto.FLOAT, ["batch", 10]),
            tensor_info("label", TensorProto.INT64, ["batch"]),
        ],
        initializer=[
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(bias, "bias"),
        ],
        doc_string=doc_string,
    )
    return make_model(graph)


def digits_failing_model(weight, bias):
    """The digits classifier's signature (pixels [batch, 64] -> probabilities, label) whose every run fails.

    A Gather of pixel 64 (out of range) feeds the logits through a multiplication by zero: shape inference and
    loading accept it, ONNX Runtime refuses it when it runs. A canary of this version answers 500 to every request,
    which is what the rollout tests need to see a rollback.
    """
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["pixels", "weight", "bias"], ["raw_logits"], transB=1),
            helper.make_node("Gather", ["pixels", "missing_pixel"], ["gathered"], axis=1),
            helper.make_node("Mul", ["gathered", "zero"], ["nothing"]),
            helper.make_node("Add", ["raw_logits", "nothing"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
        ],
        "digits_failing",
        [tensor_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        [
            tensor_info("probabilities", TensorProto.FLOAT, ["batch", 10]),
            tensor_info("label", TensorProto.INT64, ["batch"]),
        ],
        initializer=[
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(bias, "bias"),
            numpy_helper.from_array(np.array([64], dtype=np.int64), "missing_pixel"),
            numpy_helper.from_array(np.array(0, dtype=np.float32), "zero"),
        ],
        doc_string="The digits classifier with a Gather of a pixel that does not exist: loads, but every run fails.",
    )
    return make_model(graph)


def graph_forward(weight, bias, x):
    """The exported graph's math in float32, as ONNX Runtime computes it."""
    logits = x.astype(np.float32) @ weight.T + bias
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def git_commit():
    """The commit that last touched this script, so re-running on a clean tree is reproducible."""
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", SCRIPT_PATH],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", SCRIPT_PATH],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    if not commit:
        return None
    return commit + ("-dirty" if dirty else "")


def baseline_profile(x_train, bins=10, low=0.0, high=16.0):
    """Per-feature histograms over the pixels' fixed 0..16 range, so later traffic bins the same way."""
    edges = np.linspace(low, high, bins + 1)
    features = []
    for i in range(x_train.shape[1]):
        column = x_train[:, i]
        counts, _ = np.histogram(column, bins=edges)
        features.append({
            "name": f"pixel_{i}",
            "index": i,
            "mean": round(float(column.mean()), 6),
            "std": round(float(column.std()), 6),
            "min": float(column.min()),
            "max": float(column.max()),
            "counts": [int(c) for c in counts],
        })
    return {
        "input": "pixels",
        "rows": int(x_train.shape[0]),
        "bins": {"count": bins, "edges": [round(float(e), 6) for e in edges]},
        "features": features,
    }


def write_digits(models_dir, samples_dir):
    import sklearn

    scaler, classifier, x_train, x_test, y_train, y_test = train_digits()
    model, weight, bias = digits_model(scaler, classifier)

    expected = classifier.predict_proba(scaler.transform(x_test))
    exported = graph_forward(weight, bias, x_test)
    max_diff = float(np.abs(expected - exported).max())
    if max_diff > 1e-4 or not np.array_equal(expected.argmax(axis=1), exported.argmax(axis=1)):
        sys.exit(f"digits: exported graph disagrees with predict_proba (max |diff| {max_diff})")
    accuracy = float((exported.argmax(axis=1) == y_test).mean())
    train_accuracy = float((graph_forward(weight, bias, x_train).argmax(axis=1) == y_train).mean())

    save(model, models_dir, "digits")
    save(digits_failing_model(weight, bias), models_dir, "digits_failing")
    save(digits_shifted_model(weight, bias), models_dir, "digits_shifted")
    write_json(os.path.join(samples_dir, "lineage.json"), {
        "git_commit": git_commit(),
        "dataset": {
            "uri": "sklearn://datasets/load_digits",
            "version": f"scikit-learn {sklearn.__version__}",
            "rows": int(x_train.shape[0] + x_test.shape[0]),
            "train_rows": int(x_train.shape[0]),
            "test_rows": int(x_test.shape[0]),
        },
        "training_parameters": DIGITS_TRAINING,
        "evaluation_metrics": {
            "test_accuracy": round(accuracy, 6),
            "train_accuracy": round(train_accuracy, 6),
            "max_abs_diff_vs_sklearn_predict_proba": float(f"{max_diff:.3g}"),
        },
        "created_by": SCRIPT_PATH,
        "framework": {"onnx": onnx.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__},
    })
    write_json(os.path.join(samples_dir, "baseline_profile.json"), baseline_profile(x_train))

    rows = x_test[:2].astype(np.float32)
    probabilities = graph_forward(weight, bias, rows)
    write_json(os.path.join(samples_dir, "request.json"), {
        "inputs": [{
            "name": "pixels",
            "shape": list(rows.shape),
            "datatype": "FP32",
            "data": [int(v) for v in rows.flatten()],
        }]
    })
    # The same rows in 0..1 under scale_pixels' input name: the digits pipeline's request (docs/pipelines.md).
    write_json(os.path.join(samples_dir, "images.json"), {
        "inputs": [{
            "name": "image",
            "shape": list(rows.shape),
            "datatype": "FP32",
            "data": [float(v) / 16 for v in rows.flatten()],
        }]
    })
    write_json(os.path.join(samples_dir, "request_v1.json"), {
        "instances": [[int(v) for v in row] for row in rows],
    })
    write_json(os.path.join(samples_dir, "expected.json"), {
        "label": [int(v) for v in probabilities.argmax(axis=1)],
        "true_label": [int(v) for v in y_test[:2]],
        "probabilities": [[round(float(p), 6) for p in row] for row in probabilities],
    })
    print(f"digits: test accuracy {accuracy:.4f}, max |graph - predict_proba| {max_diff:.2e}")


# --- entry points ------------------------------------------------------------------------

def write_testdata(models_dir, samples_dir):
    for datatype in IDENTITY_MODELS:
        save(identity_model(datatype), models_dir, f"identity_{datatype.lower()}")
    save(simple_model(), models_dir, "simple")
    save(mlp_model("mlp_small", [64, 128, 10], seed=64), models_dir, "mlp_small")
    save(row_sum_model(), models_dir, "row_sum")
    save(fixed_no_batch_model(), models_dir, "fixed_no_batch")
    save(scale_pixels_model(), models_dir, "scale_pixels")
    write_digits(models_dir, samples_dir)


def bench_config(name, input_dims, output_name, output_dims, batching, queue_delay_us):
    config = {
        "name": name,
        "platform": "onnxruntime",
        "max_batch_size": 64,
        "input": [{"name": "input", "datatype": "FP32", "dims": input_dims}],
        "output": [{"name": output_name, "datatype": "FP32", "dims": output_dims}],
        "instance_group": [{"count": 1, "kind": "cpu"}],
    }
    if batching:
        config["dynamic_batching"] = {
            "preferred_batch_size": [32, 64],
            "max_queue_delay_microseconds": queue_delay_us,
            "max_queue_size": 1024,
        }
    return config


def write_bench(out_dir):
    """Two repositories with the same model names, so one load generator drives either server.

    The queue delay is what a lone request waits for company: about one heavy batch's compute
    for mlp_heavy, far less for mlp_small, whose compute takes microseconds.
    """
    small = mlp_model("mlp_small", [64, 128, 10], seed=64)
    heavy = mlp_model("mlp_heavy", [512, 2048, 2048, 10], seed=512)
    for variant, batching in (("batching-on", True), ("batching-off", False)):
        repo = os.path.join(out_dir, variant)
        save(small, repo, "mlp_small", config=bench_config("mlp_small", [64], "logits", [10], batching, 200))
        save(heavy, repo, "mlp_heavy", config=bench_config("mlp_heavy", [512], "logits", [10], batching, 1000))
    print(f"bench models written to {out_dir}/batching-on and {out_dir}/batching-off")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", metavar="OUTDIR", help="write only the benchmark repositories under OUTDIR")
    parser.add_argument("--models", default=os.path.join(REPO_ROOT, "testdata", "models"), help=argparse.SUPPRESS)
    parser.add_argument("--samples", default=os.path.join(REPO_ROOT, "samples", "digits"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bench:
        write_bench(os.path.abspath(args.bench))
    else:
        write_testdata(args.models, args.samples)
        print(f"test models written to {args.models}")


if __name__ == "__main__":
    main()
