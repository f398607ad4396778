"""Builds the single-graph ONNX models by hand from fitted weights (opset 17, plain MatMul/Add/Relu/Sigmoid
ops that tract and onnxruntime both run), with the standardisation baked in.

Graph: features [N, F] -> (x - mean) * inv_std -> Clip(-5, 5) -> classifier MLP -> Sigmoid -> p_up [N, 1]
                                                            `-> regressor MLP  -> * scale + offset -> expected_return [N, 1]
(or, with reg=None, expected_return = scale * p_up + offset: the shrunk return k (2 p_up - 1), or exactly 0)
Features the model does not use have inv_std = 0, so they cannot influence the outputs (e.g. mid_price).
"""

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
INPUT = "features"
OUT_P_UP = "p_up"
OUT_RETURN = "expected_return"
CLIP = 5.0


def _init(inits, name, array):
    inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
    return name


def _dense_stack(prefix, x, coefs, intercepts, nodes, inits):
    """MatMul + Add per layer, Relu between layers; returns the last pre-activation name."""
    h = x
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        w_name = _init(inits, f"{prefix}_w{i}", w)
        b_name = _init(inits, f"{prefix}_b{i}", np.reshape(b, (-1,)))
        mm, add = f"{prefix}_mm{i}", f"{prefix}_z{i}"
        nodes.append(helper.make_node("MatMul", [h, w_name], [mm], name=mm))
        nodes.append(helper.make_node("Add", [mm, b_name], [add], name=add))
        h = add
        if i < len(coefs) - 1:
            act = f"{prefix}_h{i}"
            nodes.append(helper.make_node("Relu", [h], [act], name=act))
            h = act
    return h


def build_model(n_features, mean, inv_std, clf, reg, reg_scale, reg_offset, metadata, name):
    """clf / reg: (coefs, intercepts) lists as in scikit-learn MLPs; one layer = a linear model; reg may be None."""
    nodes, inits = [], []
    _init(inits, "mean", np.reshape(mean, (1, n_features)))
    _init(inits, "inv_std", np.reshape(inv_std, (1, n_features)))
    _init(inits, "clip_lo", np.float32(-CLIP))
    _init(inits, "clip_hi", np.float32(CLIP))
    nodes.append(helper.make_node("Sub", [INPUT, "mean"], ["centred"], name="centred"))
    nodes.append(helper.make_node("Mul", ["centred", "inv_std"], ["scaled"], name="scaled"))
    nodes.append(helper.make_node("Clip", ["scaled", "clip_lo", "clip_hi"], ["x"], name="clip"))
    logit = _dense_stack("clf", "x", clf[0], clf[1], nodes, inits)
    nodes.append(helper.make_node("Sigmoid", [logit], [OUT_P_UP], name=OUT_P_UP))
    # reg=None: the return is an affine function of p_up (scale * p_up + offset; scale = offset = 0 gives an
    # exact zero), otherwise a separate dense stack on the features.
    raw = OUT_P_UP if reg is None else _dense_stack("reg", "x", reg[0], reg[1], nodes, inits)
    _init(inits, "ret_scale", np.reshape(np.float32(reg_scale), (1, 1)))
    _init(inits, "ret_offset", np.reshape(np.float32(reg_offset), (1, 1)))
    nodes.append(helper.make_node("Mul", [raw, "ret_scale"], ["ret_scaled"], name="ret_scaled"))
    nodes.append(helper.make_node("Add", ["ret_scaled", "ret_offset"], [OUT_RETURN], name=OUT_RETURN))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_features])],
        [
            helper.make_tensor_value_info(OUT_P_UP, TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info(OUT_RETURN, TensorProto.FLOAT, ["N", 1]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="btc-predictor model/train.py",
        doc_string="P(up) and expected 10 s BTCUSDT mid return; see docs/model.md",
    )
    set_metadata(model, metadata)
    onnx.checker.check_model(model)
    return model


def set_metadata(model, metadata):
    del model.metadata_props[:]
    helper.set_model_props(
        model, {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in metadata.items()}
    )


# Features with no drift reference: the price level moves by design (crates/features: scale_free = false).
NO_DRIFT_REFERENCE = ("mid_price",)


def feature_distribution(x, names, n_bins=10):
    """`feature_distribution` metadata (crates/model-meta/src/distribution.rs): per feature, the training
    quantile cut points (interior deciles, ties merged, so a feature that is 0 on 40 % of rows gets one
    bin for 0) and the share of training rows in each bin. A value v falls in bin i = number of edges <= v,
    the rule the inference service applies to live vectors before computing the PSI."""
    features = []
    for i, name in enumerate(names):
        if name in NO_DRIFT_REFERENCE:
            continue
        col = np.asarray(x[:, i], dtype=np.float64)
        col = col[np.isfinite(col)]
        if len(col) == 0:
            continue
        qs = np.quantile(col, np.arange(1, n_bins) / n_bins, method="lower")
        edges = np.unique(qs)
        # An edge at the minimum leaves its lower bin empty: drop it (no training mass below the min).
        edges = edges[edges > col.min()]
        counts = np.bincount(np.searchsorted(edges, col, side="right"), minlength=len(edges) + 1)
        fractions = counts / counts.sum()
        features.append({"name": name, "edges": [float(e) for e in edges],
                         "fractions": [round(float(f), 6) for f in fractions]})
    return {"method": "quantile", "n_rows": int(x.shape[0]), "features": features}
