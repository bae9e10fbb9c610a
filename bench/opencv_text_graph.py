#!/usr/bin/env python3
"""Write the text graph config that OpenCV DNN's readNetFromTensorflow(pb,
pbtxt) needs for a TF1 Object Detection API SSD graph.

OpenCV cannot run the OD API's pre- and post-processing loops; its own
sample script (tf_text_graph_ssd.py, not shipped by Debian) replaces them
with OpenCV layers. This script does the same job for our graphs, in the
layout OpenCV's importer expects:
  - image_tensor Placeholder feeding the first convolution (OpenCV's
    blobFromImage does the resize and the [-1, 1] scaling);
  - the feature extractor and box predictors as in the .pb (Conv2D,
    DepthwiseConv2dNative, FusedBatchNorm, BiasAdd, Relu6; Identity nodes
    bypassed, weights read from the .pb by name);
  - per feature map a Flatten of the box and class predictions, a PriorBox
    whose widths and heights are the graph's own anchor constants (scales
    and aspect ratios read from its MultipleGridAnchorGenerator);
  - Sigmoid on the class scores and one DetectionOutput (CENTER_SIZE codes,
    variances 0.1/0.2 = the OD API's 10/5 scale factors, NMS 0.6, top 100).

Python 3 stdlib only; reads the graph with tools/tfgraph.py.
Usage: opencv_text_graph.py GRAPH.pb OUT.pbtxt
"""
import math
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import tfgraph  # noqa: E402

KEEP_OPS = {"Conv2D", "DepthwiseConv2dNative", "FusedBatchNorm", "FusedBatchNormV3", "BiasAdd", "Relu6",
            "Relu", "Add", "AddV2", "Mul", "MaxPool", "AvgPool"}
DROP_ATTRS = {"T", "data_format", "Tshape", "N", "Tidx", "Tdim", "use_cudnn_on_gpu", "Index", "Tperm",
              "is_training", "Tpaddings", "_class", "_output_shapes", "U"}


def q(s):
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fmt_float(v):
    r = repr(float(v))
    return r if r not in ("inf", "-inf", "nan") else r


def attr_text(a):
    k, v = a.kind, a.value
    if k == "s":
        return "s: " + q(v)
    if k == "i":
        return "i: %d" % v
    if k == "f":
        return "f: " + fmt_float(v)
    if k == "b":
        return "b: " + ("true" if v else "false")
    if k == "type":
        return "type: " + {1: "DT_FLOAT", 3: "DT_INT32", 4: "DT_UINT8"}.get(v, str(v))
    if k == "list":
        parts = []
        for i in v.get("i", []):
            parts.append("i: %d" % i)
        for f in v.get("f", []):
            parts.append("f: " + fmt_float(f))
        for s in v.get("s", []):
            parts.append("s: " + q(s))
        return "list { " + " ".join(parts) + " }"
    if k == "tensor":
        t = v
        if t.dtype == tfgraph.DT_FLOAT:
            vals = " ".join("float_val: " + fmt_float(x) for x in t.values)
            dt = "DT_FLOAT"
        else:
            vals = " ".join("int_val: %d" % x for x in t.values)
            dt = "DT_INT32"
        dims = " ".join("dim { size: %d }" % d for d in t.shape)
        return "tensor { dtype: %s tensor_shape { %s } %s }" % (dt, dims, vals)
    raise ValueError("attr kind %s" % k)


def node_text(name, op, inputs, attrs):
    out = ["node {", "  name: " + q(name), "  op: " + q(op)]
    out += ["  input: " + q(i) for i in inputs]
    for k in sorted(attrs):
        out.append("  attr { key: %s value { %s } }" % (q(k), attr_text(attrs[k])))
    out.append("}")
    return "\n".join(out) + "\n"


def float_tensor(values):
    return tfgraph.Attr("tensor", tfgraph.Tensor(tfgraph.DT_FLOAT, [len(values)], [float(x) for x in values]))


def int_tensor(values):
    return tfgraph.Attr("tensor", tfgraph.Tensor(tfgraph.DT_INT32, [len(values)], list(values)))


def anchor_layers(g):
    """(scales, aspect ratios) per layer from the anchor generator's
    constants: heights = scales / Sqrt(aspect ratios) * base."""
    by = g.by_name()
    layers = []
    sqrts = [n for n in g.nodes if n.op == "Sqrt" and n.name.startswith("MultipleGridAnchorGenerator/")]
    key = lambda n: int(re.search(r"Sqrt(?:_(\d+))?$", n.name).group(1) or 0)  # noqa: E731
    for s in sorted(sqrts, key=key):
        ars = by[s.inputs[0]].attrs["value"].value.values
        div = next(n for n in g.nodes if n.op == "RealDiv" and n.inputs[1] == s.name)
        scales = by[div.inputs[0]].attrs["value"].value.values
        layers.append((scales, ars))
    return layers


def image_size(g):
    """The network input size: the anchor generator's image size, else the
    static image_tensor shape (the aiy graph is fed 256x256)."""
    by = g.by_name()
    n = by.get("MultipleGridAnchorGenerator/ToFloat/x")
    if n:
        return n.attrs["value"].value.values[0]
    ph = by.get("image_tensor")
    shape = ph.attrs.get("shape") if ph else None
    if shape and shape.value and len(shape.value) == 4 and shape.value[1] > 0:
        return shape.value[1]
    return 300


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    g = tfgraph.load(argv[1])
    by = g.by_name()
    preds = {}
    for n in g.nodes:
        m = re.match(r"^BoxPredictor_(\d+)/(BoxEncodingPredictor|ClassPredictor)/BiasAdd$", n.name)
        if m:
            preds[(int(m.group(1)), m.group(2))] = n.name
    num_layers = 1 + max(k[0] for k in preds)

    def resolve(name):
        name = name.split(":")[0]
        while by[name].op == "Identity":
            name = by[name].inputs[0].split(":")[0]
        return name

    # Backward walk from the predictor outputs through the kept ops.
    keep = set()
    stack = list(preds.values())
    first_conv = None
    while stack:
        nm = resolve(stack.pop())
        if nm in keep:
            continue
        n = by[nm]
        if n.op == "Const":
            continue
        if n.op not in KEEP_OPS:
            continue
        keep.add(nm)
        for i in n.inputs:
            if i.startswith("^"):
                continue
            src = resolve(i)
            if by[src].op not in KEEP_OPS and by[src].op != "Const" and n.op in ("Conv2D", "DepthwiseConv2dNative"):
                first_conv = nm  # its data input is the preprocessor
                continue
            stack.append(i)
    if not first_conv:
        print("no first convolution found", file=sys.stderr)
        return 1

    size = image_size(g)
    layers = anchor_layers(g)
    if len(layers) != num_layers:
        print("%d anchor layers but %d box predictors" % (len(layers), num_layers), file=sys.stderr)
        return 1
    classes = None
    out = [node_text("image_tensor", "Placeholder", [], {"dtype": tfgraph.Attr("type", tfgraph.DT_FLOAT)})]
    for n in g.nodes:
        if n.name not in keep:
            continue
        inputs = [resolve(i) for i in n.inputs if not i.startswith("^")]
        if n.name == first_conv:
            inputs[0] = "image_tensor"
        attrs = {k: v for k, v in n.attrs.items() if k not in DROP_ATTRS}
        out.append(node_text(n.name, n.op, inputs, attrs))
    out.append(node_text("concat/axis_flatten", "Const", [], {"value": int_tensor([-1])}))
    out.append(node_text("PriorBox/concat/axis", "Const", [], {"value": int_tensor([-2])}))
    for label in ("ClassPredictor", "BoxEncodingPredictor"):
        flat = []
        for i in range(num_layers):
            src = preds[(i, label)]
            out.append(node_text(src + "/Flatten", "Flatten", [src], {}))
            flat.append(src + "/Flatten")
        out.append(node_text(label + "/concat", "ConcatV2", flat + ["concat/axis_flatten"], {}))
    out.append(node_text("reshape_prior_boxes_to_4d", "Const", [], {"value": int_tensor([1, 2, -1, 1])}))
    priors = []
    for i, (scales, ars) in enumerate(layers):
        widths = [s * math.sqrt(a) * size for s, a in zip(scales, ars)]
        heights = [s / math.sqrt(a) * size for s, a in zip(scales, ars)]
        name = "PriorBox_%d" % i
        out.append(node_text(name, "PriorBox", [preds[(i, "BoxEncodingPredictor")], "image_tensor"], {
            "flip": tfgraph.Attr("b", False), "clip": tfgraph.Attr("b", False),
            "width": float_tensor(widths), "height": float_tensor(heights),
            "variance": float_tensor([0.1, 0.1, 0.2, 0.2])}))
        out.append(node_text(name + "/4d", "Reshape", [name, "reshape_prior_boxes_to_4d"], {}))
        priors.append(name + "/4d")
        # classes + 1 from the class predictor's depth
        w = by[resolve(by[resolve(by[preds[(i, "ClassPredictor")]].inputs[0])].inputs[1])]
        classes = w.attrs["value"].value.shape[3] // len(ars)
    out.append(node_text("PriorBox/concat", "ConcatV2", priors + ["PriorBox/concat/axis"], {}))
    out.append(node_text("ClassPredictor/concat/sigmoid", "Sigmoid", ["ClassPredictor/concat"], {}))
    out.append(node_text("detection_out", "DetectionOutput",
                         ["BoxEncodingPredictor/concat", "ClassPredictor/concat/sigmoid", "PriorBox/concat"], {
                             "num_classes": tfgraph.Attr("i", classes), "share_location": tfgraph.Attr("b", True),
                             "background_label_id": tfgraph.Attr("i", 0),
                             "nms_threshold": tfgraph.Attr("f", 0.6), "top_k": tfgraph.Attr("i", 100),
                             "code_type": tfgraph.Attr("s", b"CENTER_SIZE"), "keep_top_k": tfgraph.Attr("i", 100),
                             "confidence_threshold": tfgraph.Attr("f", 0.01),
                             "loc_pred_transposed": tfgraph.Attr("b", True)}))
    with open(argv[2], "w") as fh:
        fh.write("".join(out))
    print("%s: %d layers, %d classes, input %dx%d, %d kept nodes" % (argv[2], num_layers, classes, size, size, len(keep)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
