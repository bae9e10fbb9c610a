#!/usr/bin/env python3
"""Generate a full-size SSD MobileNet v1 COCO-shaped TF1 frozen graph with
random weights, for benchmarking at the real size.

A real ssd_mobilenet_v1_coco cannot be downloaded here, so this builds one
of the same shape: depth multiplier 1.0, 300x300 resize inside the graph,
91 classes (90 + background), 6 feature maps (19x19, 10x10, 5x5, 3x3, 2x2,
1x1; 3 anchors on the first, 6 on the others), 1917 anchors.

How: the TF1 Object Detection API pre- and post-processing (the Preprocessor
map_fn while loop with TensorArrays and ResizeBilinear, the box decoding, the
BatchMultiClassNonMaxSuppression map_fn loop with its per-class NMS unrolled
in the loop body) is taken from the shared ssd_mobilenet_v1_voc frozen graph
(same export family) and rewritten: resize target, anchor count, and the
per-class NMS block cloned from 20 to 90 classes with TensorFlow's naming.
The parts whose shape changes (the MobilenetV1 feature extractor and its 4
extra layers, the 6 box predictors, the MultipleGridAnchorGenerator and the
concatenations) are generated here op by op, as the OD API's Python code
builds them (same node names, ops and attrs).  `--check-anchors` rebuilds
the voc graph's anchor generator with this code and compares it node by node
with the template.

Weights are random (seeded): He-scaled convolutions, BatchNorm statistics
near identity so Relu6 activations stay finite and the scores vary.

Python 3 stdlib only (no TensorFlow, no numpy).

Usage: gen_ssd_mobilenet_v1_coco.py [-o OUTDIR] [--template PB] [--seed N]
         [--depth-multiplier M] [--size S] [--classes C] [--quiet]
Writes OUTDIR/frozen_inference_graph.pb and OUTDIR/mscoco_label_map.pbtxt,
then prints the op histogram and the convolution count and multiply-adds.
"""
import argparse
import collections
import json
import math
import os
import random
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfgraph  # noqa: E402
from tfgraph import Attr, Node, Tensor, DT_FLOAT, DT_INT32, DT_STRING, DT_BOOL  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_TEMPLATE = os.path.join(REPO, "..", "shared", "models", "ssd_mobilenet_v1_voc",
                                "frozen_inference_graph.pb")
DEFAULT_OUT = os.path.join(REPO, ".data", "ssd_mobilenet_v1_coco_random")

NMS = "Postprocessor/BatchMultiClassNonMaxSuppression/map/while/MultiClassNonMaxSuppression/"

# The 90 COCO ids of the 91-class ssd_mobilenet_v1_coco output (0 is the
# background). The 80 detection categories plus the 10 ids COCO defines but
# never annotated (12 street sign, 26 hat, ...), so every id a random model
# outputs has a name.
COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "street sign", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
    "hat", "backpack", "umbrella", "shoe", "eye glasses", "handbag", "tie", "suitcase",
    "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "plate", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "mirror",
    "dining table", "window", "desk", "toilet", "door", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator",
    "blender", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
]


# ---------------------------------------------------------------- helpers
def t_float(values, shape=None):
    values = [float(v) for v in values] if isinstance(values, (list, tuple)) else [float(values)]
    return Tensor(DT_FLOAT, shape if shape is not None else ([len(values)] if len(values) != 1 else []), values)


def t_int(values, shape=None):
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    return Tensor(DT_INT32, shape if shape is not None else [len(values)], values)


def ilist(v):
    return Attr("list", {"i": list(v)})


T_FLOAT = Attr("type", DT_FLOAT)
T_INT = Attr("type", DT_INT32)


class Builder:
    """Emits nodes with TensorFlow's unique-name rule (name, name_1, ...)."""

    def __init__(self, used=None):
        self.nodes = []
        self.used = set(used or ())

    def unique(self, name):
        if name.lower() not in self.used:
            self.used.add(name.lower())
            return name
        i = 1
        while ("%s_%d" % (name, i)).lower() in self.used:
            i += 1
        name = "%s_%d" % (name, i)
        self.used.add(name.lower())
        return name

    def add(self, name, op, inputs=(), attrs=None, unique=True):
        name = self.unique(name) if unique else name
        if not unique:
            self.used.add(name.lower())
        self.nodes.append(Node(name, op, inputs, attrs))
        return name

    def const(self, name, tensor, unique=True):
        return self.add(name, "Const", (), {"dtype": Attr("type", tensor.dtype), "value": Attr("tensor", tensor)},
                        unique=unique)

    def const_scalar_int(self, name, v, unique=True):
        return self.const(name, Tensor(DT_INT32, [], [v]), unique)

    # Binary ops whose Python operands were not tensors get an implicit Const
    # named <op>/x or <op>/y, as convert_to_tensor names them.
    def binop(self, scope, op, tfop, x, y, dtype=DT_FLOAT):
        name = self.unique(scope + op)
        if not isinstance(x, str):
            x = self.const(name + "/x", x, unique=False)
        if not isinstance(y, str):
            y = self.const(name + "/y", y, unique=False)
        return self.add(name, tfop, [x, y], {"T": Attr("type", dtype)}, unique=False)

    def cast(self, scope, name, x, src, dst):
        name = self.unique(scope + name)
        if not isinstance(x, str):
            x = self.const(name + "/x", x, unique=False)
        return self.add(name, "Cast", [x], {"SrcT": Attr("type", src), "DstT": Attr("type", dst)}, unique=False)

    def strided_slice0(self, scope, x, begin, end, T=DT_INT32):
        """x[begin] with shrink_axis, as Python indexing builds it."""
        name = self.unique(scope + "strided_slice")
        b = self.const(name + "/stack", t_int([begin]), unique=False)
        e = self.const(name + "/stack_1", t_int([end]), unique=False)
        s = self.const(name + "/stack_2", t_int([1]), unique=False)
        return self.add(name, "StridedSlice", [x, b, e, s], {
            "T": Attr("type", T), "Index": T_INT, "begin_mask": Attr("i", 0), "end_mask": Attr("i", 0),
            "ellipsis_mask": Attr("i", 0), "new_axis_mask": Attr("i", 0), "shrink_axis_mask": Attr("i", 1)},
            unique=False)


# ---------------------------------------------------------------- architecture
def mobilenet_spec(depth_multiplier, min_depth=16):
    """MobilenetV1 conv defs: (name, kind, stride, out_depth)."""
    d = lambda n: max(int(n * depth_multiplier), min_depth)  # noqa: E731
    defs = [("Conv2d_0", "conv", 2, d(32))]
    sep = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]
    for i, (s, n) in enumerate(sep, 1):
        defs.append(("Conv2d_%d_depthwise" % i, "dw", s, None))
        defs.append(("Conv2d_%d_pointwise" % i, "pw", 1, d(n)))
    return defs


def extra_spec(depth_multiplier, min_depth=16):
    """ssd_mobilenet_v1 feature map layout: layer_depth [-1,-1,512,256,256,128],
    each extra layer a 1x1 conv of half the depth then a 3x3 stride-2 conv."""
    d = lambda n: max(int(n * depth_multiplier), min_depth)  # noqa: E731
    out = []
    for i, depth in enumerate([512, 256, 256, 128], 2):
        out.append(("Conv2d_13_pointwise_1_Conv2d_%d_1x1_%d" % (i, d(depth // 2)), 1, 1, d(depth // 2)))
        out.append(("Conv2d_13_pointwise_2_Conv2d_%d_3x3_s2_%d" % (i, d(depth)), 3, 2, d(depth)))
    return out


def same_out(n, stride):
    return (n + stride - 1) // stride


class Weights:
    """Seeded random weights; see the module comment for the scales."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def uniform(self, n, std, mean=0.0):
        a = std * math.sqrt(3.0)
        r = self.rng.random
        return [mean + a * (2.0 * r() - 1.0) for _ in range(n)]

    def range(self, n, lo, hi):
        r = self.rng.random
        return [lo + (hi - lo) * r() for _ in range(n)]


def conv_block(b, w, var_prefix, op_prefix, x, kind, kh, kw, cin, cout, stride, convs):
    """Const weights + Identity read + Conv2D/Depthwise + FusedBatchNorm + Relu6."""
    def var(name, tensor):
        c = b.const(var_prefix + name, tensor, unique=False)
        return b.add(c + "/read", "Identity", [c], {
            "T": T_FLOAT, "_class": Attr("list", {"s": [("loc:@" + c).encode()]})}, unique=False)

    if kind == "dw":
        fan_in = kh * kw
        wt = var("/depthwise_weights", Tensor(DT_FLOAT, [kh, kw, cin, 1],
                                              w.uniform(kh * kw * cin, math.sqrt(2.0 / fan_in))))
        y = b.add(op_prefix + "/depthwise", "DepthwiseConv2dNative", [x, wt], {
            "T": T_FLOAT, "data_format": Attr("s", b"NHWC"), "padding": Attr("s", b"SAME"),
            "strides": ilist([1, stride, stride, 1]), "dilations": ilist([1, 1, 1, 1])}, unique=False)
        cout = cin
    else:
        fan_in = kh * kw * cin
        wt = var("/weights", Tensor(DT_FLOAT, [kh, kw, cin, cout],
                                    w.uniform(kh * kw * cin * cout, math.sqrt(2.0 / fan_in))))
        y = b.add(op_prefix + "/Conv2D", "Conv2D", [x, wt], {
            "T": T_FLOAT, "data_format": Attr("s", b"NHWC"), "padding": Attr("s", b"SAME"),
            "strides": ilist([1, stride, stride, 1]), "dilations": ilist([1, 1, 1, 1]),
            "use_cudnn_on_gpu": Attr("b", True)}, unique=False)
    convs.append((op_prefix, kind, kh, kw, cin, cout, stride))
    # Near-identity statistics: He-scaled weights keep E[x^2] about constant
    # through Relu layers, so the normalisation only has to jitter it.
    gamma = var("/BatchNorm/gamma", t_float(w.range(cout, 0.8, 1.2)))
    beta = var("/BatchNorm/beta", t_float(w.range(cout, -0.1, 0.2)))
    mean = var("/BatchNorm/moving_mean", t_float(w.uniform(cout, 0.1)))
    varr = var("/BatchNorm/moving_variance", t_float(w.range(cout, 0.8, 1.5)))
    bn = b.add(op_prefix + "/BatchNorm/FusedBatchNorm", "FusedBatchNorm", [y, gamma, beta, mean, varr], {
        "T": T_FLOAT, "data_format": Attr("s", b"NHWC"), "epsilon": Attr("f", 0.001),
        "is_training": Attr("b", False)}, unique=False)
    return b.add(op_prefix + "/Relu6", "Relu6", [bn], {"T": T_FLOAT}, unique=False), cout


def build_backbone(b, w, cfg, image, convs):
    """Returns [(tensor name, H, W, C)] of the 6 feature maps."""
    size = cfg.size
    x, c, h = image, 3, size
    maps = {}
    for name, kind, stride, depth in mobilenet_spec(cfg.depth_multiplier):
        var_prefix = "FeatureExtractor/MobilenetV1/" + name
        op_prefix = "FeatureExtractor/MobilenetV1/MobilenetV1/" + name
        k = 1 if kind == "pw" else 3
        x, c = conv_block(b, w, var_prefix, op_prefix, x, kind, k, k, c, depth, stride, convs)
        h = same_out(h, stride)
        maps[name] = (x, h, h, c)
    fmaps = [maps["Conv2d_11_pointwise"], maps["Conv2d_13_pointwise"]]
    for name, k, stride, depth in extra_spec(cfg.depth_multiplier):
        prefix = "FeatureExtractor/MobilenetV1/" + name
        x, c = conv_block(b, w, prefix, prefix, x, "conv", k, k, c, depth, stride, convs)
        h = same_out(h, stride)
        if "_2_Conv2d_" in name:
            fmaps.append((x, h, h, c))
    return fmaps


def build_box_predictors(b, w, cfg, fmaps, anchors_per_loc, convs):
    num_classes = cfg.classes + 1
    boxes, scores = [], []
    for i, ((x, h, wd, c), a) in enumerate(zip(fmaps, anchors_per_loc)):
        p = "BoxPredictor_%d/" % i
        outs = []
        for head, depth, std, bias in (("BoxEncodingPredictor", a * 4, 0.3, (-0.1, 0.1)),
                                       ("ClassPredictor", a * num_classes, 1.0, (-2.0, -1.0))):
            def var(name, tensor):
                cn = b.const(p + head + name, tensor, unique=False)
                return b.add(cn + "/read", "Identity", [cn], {
                    "T": T_FLOAT, "_class": Attr("list", {"s": [("loc:@" + cn).encode()]})}, unique=False)
            # Small predictor weights: box codes of a few tenths (sane boxes
            # after the 10/5 scale factors) and logits spread around -1.5 so
            # sigmoid scores vary without saturating.
            # Each filter sums to zero over the input channels: Relu6 features
            # are all positive, and a filter's mean would otherwise add a
            # per-class constant that lets one class win everywhere.
            wv = w.uniform(c * depth, std / math.sqrt(c))
            for o in range(depth):
                col = wv[o::depth]
                mu = sum(col) / c
                wv[o::depth] = [x - mu for x in col]
            wt = var("/weights", Tensor(DT_FLOAT, [1, 1, c, depth], wv))
            bs = var("/biases", t_float(w.range(depth, *bias)))
            y = b.add(p + head + "/Conv2D", "Conv2D", [x, wt], {
                "T": T_FLOAT, "data_format": Attr("s", b"NHWC"), "padding": Attr("s", b"SAME"),
                "strides": ilist([1, 1, 1, 1]), "dilations": ilist([1, 1, 1, 1]),
                "use_cudnn_on_gpu": Attr("b", True)}, unique=False)
            convs.append((p + head, "pred", 1, 1, c, depth, 1))
            outs.append(b.add(p + head + "/BiasAdd", "BiasAdd", [y, bs], {
                "T": T_FLOAT, "data_format": Attr("s", b"NHWC")}, unique=False))
        shape = b.add(p + "Shape", "Shape", [x], {"T": T_FLOAT, "out_type": T_INT})
        batch = b.strided_slice0(p, shape, 0, 1)
        n = h * wd * a
        st = b.unique(p + "stack")
        st_in = [batch] + [b.const_scalar_int(st + "/%d" % j, v, unique=False) for j, v in ((1, n), (2, 1), (3, 4))]
        b.add(st, "Pack", st_in, {"T": T_INT, "N": Attr("i", 4), "axis": Attr("i", 0)}, unique=False)
        boxes.append(b.add(p + "Reshape", "Reshape", [outs[0], st], {"T": T_FLOAT, "Tshape": T_INT}))
        st1 = b.unique(p + "stack")
        st1_in = [batch] + [b.const_scalar_int(st1 + "/%d" % j, v, unique=False) for j, v in ((1, n), (2, num_classes))]
        b.add(st1, "Pack", st1_in, {"T": T_INT, "N": Attr("i", 3), "axis": Attr("i", 0)}, unique=False)
        scores.append(b.add(p + "Reshape", "Reshape", [outs[1], st1], {"T": T_FLOAT, "Tshape": T_INT}))
    return boxes, scores


# ---------------------------------------------------------------- anchors
def anchor_layers(num_layers, min_scale=0.2, max_scale=0.95, aspect_ratios=(1.0, 2.0, 0.5, 3.0, 0.3333)):
    """create_ssd_anchors(): per layer (scales, aspect ratios), float32 values."""
    scales = [min_scale + (max_scale - min_scale) * i / (num_layers - 1) for i in range(num_layers)] + [1.0]
    out = []
    for i in range(num_layers):
        if i == 0:  # reduce_boxes_in_lowest_layer
            pairs = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            pairs = [(scales[i], ar) for ar in aspect_ratios]
            pairs.append((math.sqrt(scales[i] * scales[i + 1]), 1.0))  # interpolated_scale_aspect_ratio
        out.append(([p[0] for p in pairs], [p[1] for p in pairs]))
    return out


def build_anchors(b, image_size, grids, layers):
    """MultipleGridAnchorGenerator._generate + grid_anchor_generator.tile_anchors
    + ops.meshgrid, as the OD API builds them (all inputs static)."""
    S = "MultipleGridAnchorGenerator/"
    base = b.const("Const", t_float([1.0, 1.0]))
    im_h = b.cast(S, "ToFloat", Tensor(DT_INT32, [], [image_size]), DT_INT32, DT_FLOAT)
    im_w = b.cast(S, "ToFloat", Tensor(DT_INT32, [], [image_size]), DT_INT32, DT_FLOAT)
    strides = []
    for g in grids:
        pair = []
        for _ in range(2):
            f = b.cast(S, "ToFloat", Tensor(DT_INT32, [], [g]), DT_INT32, DT_FLOAT)
            pair.append(b.binop(S, "truediv", "RealDiv", t_float(1.0), f))
        strides.append(pair)
    offsets = [[b.binop(S, "mul", "Mul", t_float(0.5), s) for s in pair] for pair in strides]
    mn = b.add(S + "Minimum", "Minimum", [im_h, im_w], {"T": T_FLOAT})
    sh = b.binop(S, "truediv", "RealDiv", mn, im_h)
    sw = b.binop(S, "truediv", "RealDiv", mn, im_w)
    base_h = b.binop(S, "mul", "Mul", sh, b.strided_slice0(S, base, 0, 1, DT_FLOAT))
    base_w = b.binop(S, "mul", "Mul", sw, b.strided_slice0(S, base, 1, 2, DT_FLOAT))

    def meshgrid(x, y, x_len, y_shape):
        """ops.meshgrid(x, y) with x of shape [x_len] and y of shape y_shape."""
        M = b.unique(S + "Meshgrid") + "/"
        x_shape = b.const(M + "Shape", t_int([x_len]), unique=False)
        y_rank = b.const_scalar_int(M + "Rank", len(y_shape), unique=False)

        def expanded(E, orig, start, ndims):
            sd = b.add(E + "ExpandDims", "ExpandDims", [start, b.const_scalar_int(E + "ExpandDims/dim", 0, False)],
                       {"T": T_INT, "Tdim": T_INT}, unique=False)
            before = b.add(E + "Slice", "Slice", [orig, b.const(E + "Slice/begin", t_int([0]), False), sd],
                           {"T": T_INT, "Index": T_INT}, unique=False)
            rs = b.add(E + "Reshape", "Reshape", [ndims, b.const(E + "Reshape/shape", t_int([1]), False)],
                       {"T": T_INT, "Tshape": T_INT}, unique=False)
            ones = b.add(E + "ones", "Fill", [rs, b.const_scalar_int(E + "ones/Const", 1, False)],
                         {"T": T_INT, "index_type": T_INT}, unique=False)
            after = b.add(E + "Slice_1", "Slice", [orig, sd, b.const(E + "Slice_1/size", t_int([-1]), False)],
                          {"T": T_INT, "Index": T_INT}, unique=False)
            ax = b.const_scalar_int(E + "concat/axis", 0, False)
            return b.add(E + "concat", "ConcatV2", [before, ones, after, ax],
                         {"T": T_INT, "N": Attr("i", 3), "Tidx": T_INT}, unique=False)

        E = M + "ExpandedShape/"
        start0 = b.const_scalar_int(E + "ExpandDims/input", 0, unique=False)
        x_exp = expanded(E, x_shape, start0, y_rank)
        y_shape_c = b.const(M + "Shape_1", t_int(list(y_shape)), unique=False)
        y_rank1 = b.const_scalar_int(M + "Rank_1", len(y_shape), unique=False)
        x_rank = b.const_scalar_int(M + "Rank_2", 1, unique=False)
        y_exp = expanded(M + "ExpandedShape_1/", y_shape_c, y_rank1, x_rank)
        xr = b.add(M + "Reshape", "Reshape", [x, x_exp], {"T": T_FLOAT, "Tshape": T_INT}, unique=False)
        xg = b.add(M + "Tile", "Tile", [xr, y_exp], {"T": T_FLOAT, "Tmultiples": T_INT}, unique=False)
        yr = b.add(M + "Reshape_1", "Reshape", [y, y_exp], {"T": T_FLOAT, "Tshape": T_INT}, unique=False)
        yg = b.add(M + "Tile_1", "Tile", [yr, x_exp], {"T": T_FLOAT, "Tmultiples": T_INT}, unique=False)
        return xg, yg

    corners = []
    counts = []
    for li, (g, (scales, ars)) in enumerate(zip(grids, layers)):
        n = len(ars)
        sq = b.unique(S + "Sqrt")
        sqx = b.const(sq + "/x", t_float(ars), unique=False)
        b.add(sq, "Sqrt", [sqx], {"T": T_FLOAT}, unique=False)
        heights = b.binop(S, "mul", "Mul", b.binop(S, "truediv", "RealDiv", t_float(scales), sq), base_h)
        widths = b.binop(S, "mul", "Mul", b.binop(S, "mul", "Mul", t_float(scales), sq), base_w)
        centers = []
        for axis in range(2):
            rn = b.unique(S + "range")
            rng = b.add(rn, "Range", [b.const_scalar_int(rn + "/start", 0, False), b.const_scalar_int(rn + "/limit", g, False),
                                      b.const_scalar_int(rn + "/delta", 1, False)], {"Tidx": T_INT}, unique=False)
            f = b.cast(S, "ToFloat", rng, DT_INT32, DT_FLOAT)
            centers.append(b.add(S + "add", "Add", [b.binop(S, "mul", "Mul", f, strides[li][axis]), offsets[li][axis]],
                                 {"T": T_FLOAT}))
        y_c, x_c = centers
        x_cg, y_cg = meshgrid(x_c, y_c, g, [g])
        w_g, x_cg2 = meshgrid(widths, x_cg, n, [g, g])
        h_g, y_cg2 = meshgrid(heights, y_cg, n, [g, g])
        bc = b.add(S + "stack", "Pack", [y_cg2, x_cg2], {"T": T_FLOAT, "N": Attr("i", 2), "axis": Attr("i", 3)})
        bs = b.add(S + "stack", "Pack", [h_g, w_g], {"T": T_FLOAT, "N": Attr("i", 2), "axis": Attr("i", 3)})

        def reshape2(x):
            r = b.unique(S + "Reshape")
            return b.add(r, "Reshape", [x, b.const(r + "/shape", t_int([-1, 2]), False)],
                         {"T": T_FLOAT, "Tshape": T_INT}, unique=False)
        bc, bs = reshape2(bc), reshape2(bs)
        lo = b.add(S + "sub", "Sub", [bc, b.binop(S, "mul", "Mul", t_float(0.5), bs)], {"T": T_FLOAT})
        hi = b.add(S + "add", "Add", [bc, b.binop(S, "mul", "Mul", t_float(0.5), bs)], {"T": T_FLOAT})
        cc = b.unique(S + "concat")
        corners.append(b.add(cc, "ConcatV2", [lo, hi, b.const_scalar_int(cc + "/axis", 1, False)],
                             {"T": T_FLOAT, "N": Attr("i", 2), "Tidx": T_INT}, unique=False))
        b.unique(S + "mul")  # a frozen-away multiply of tile_anchors' caller
        counts.append(g * g * n)
    # assert_equal(expected_num_anchors, sum of the layers' anchor counts)
    total = None
    for cnt in counts:
        shp = b.const(S + "Shape", t_int([cnt, 4]))
        ss = b.strided_slice0(S, shp, 0, 1)
        total = b.binop(S, "add", "Add", Tensor(DT_INT32, [], [0]) if total is None else total, ss, DT_INT32)
    A = S + "assert_equal/"
    ax = b.const_scalar_int(A + "x", sum(counts), False)
    eq = b.add(A + "Equal", "Equal", [ax, total], {"T": T_INT}, unique=False)
    al = b.add(A + "All", "All", [eq, b.const(A + "Const", t_int([]), False)],
               {"Tidx": T_INT, "keep_dims": Attr("b", False)}, unique=False)
    msgs = [b"", b"Condition x == y did not hold element-wise:",
            ("x (%s:0) = " % ax).encode(), ("y (%s:0) = " % total).encode()]
    d = [b.const(A + "Assert/Assert/data_%d" % i, Tensor(DT_STRING, [], [m]), False)
         for i, m in zip((0, 1, 2, 4), msgs)]
    asrt = b.add(A + "Assert/Assert", "Assert", [al, d[0], d[1], d[2], ax, d[3], total],
                 {"T": Attr("list", {"type": [DT_STRING, DT_STRING, DT_STRING, DT_INT32, DT_STRING, DT_INT32]}),
                  "summarize": Attr("i", 3)}, unique=False)
    ids = [b.add(S + "Identity", "Identity", [c, "^" + asrt], {"T": T_FLOAT}) for c in corners]
    cat = b.unique("Concatenate/concat")
    b.add(cat, "ConcatV2", ids + [b.const_scalar_int(cat + "/axis", 0, False)],
          {"T": T_FLOAT, "N": Attr("i", len(ids)), "Tidx": T_INT}, unique=False)
    return cat, sum(counts)


# ---------------------------------------------------------------- template
def tensor_of(node):
    return node.attrs["value"].value


def set_const(node, values):
    t = tensor_of(node)
    t.values = list(values)


def rename_inputs(nodes, mapping):
    def m(inp):
        ctrl = inp.startswith("^")
        base = inp[1:] if ctrl else inp
        port = ""
        if not ctrl and ":" in base:
            base, port = base.rsplit(":", 1)
            port = ":" + port
        base = mapping.get(base, base)
        return ("^" if ctrl else "") + base + port
    for n in nodes:
        n.inputs = [m(i) for i in n.inputs]


def class_group_name(rest, k_from, k_to):
    """Maps a node name under MultiClassNonMaxSuppression/ of the per-class
    block k_from to block k_to, or None if it is not in block k_from.
    TensorFlow numbered class k's ops <op>_k (no suffix for 0), except Shape
    and strided_slice whose _0 and _1 were taken before the loop (k + 2)."""
    first, sep, tail = rest.partition("/")
    m = re.match(r"^(.*?)(?:_(\d+))?$", first)
    base, idx = m.group(1), int(m.group(2)) if m.group(2) else 0
    off = 2 if base in ("Shape", "strided_slice") else 0
    per_class = ("stack", "Slice", "Reshape", "FilterGreaterThan", "ClipToWindow", "Minimum",
                 "non_max_suppression", "Gather", "zeros_like", "add", "Shape", "strided_slice")
    if base not in per_class or idx != k_from + off:
        return None
    k = k_to + off
    return (base if k == 0 else "%s_%d" % (base, k)) + sep + tail


def expand_nms(nodes, classes_from, classes_to):
    """Clone the template's last per-class NMS block for the new classes and
    renumber the ops TensorFlow created after the unrolled loop."""
    by_name = {n.name: n for n in nodes}
    last = classes_from - 1
    block = [n for n in nodes if n.name.startswith(NMS) and class_group_name(n.name[len(NMS):], last, last)]
    block_names = {n.name for n in block}
    # Post-loop ops that took the next free suffixes (Shape_22, Minimum_20, ...)
    # move past the new blocks.
    post = {}
    for n in nodes:
        if not n.name.startswith(NMS) or n.name in block_names:
            continue
        rest = n.name[len(NMS):]
        first, sep, tail = rest.partition("/")
        m = re.match(r"^(Shape|strided_slice|Minimum|Gather|stack|Slice|Reshape|add|zeros_like)_(\d+)$", first)
        if not m:
            continue
        off = 2 if m.group(1) in ("Shape", "strided_slice") else 0
        if int(m.group(2)) >= classes_from + off:
            post[n.name] = NMS + "%s_%d" % (m.group(1), int(m.group(2)) + classes_to - classes_from) + sep + tail
    for n in nodes:
        if n.name in post:
            n.name = post[n.name]
    rename_inputs(nodes, post)

    new = []
    outs = {"boxes": [], "scores": [], "classes": []}
    for k in range(classes_from, classes_to):
        mapping = {nm: NMS + class_group_name(nm[len(NMS):], last, k) for nm in block_names}
        clones = []
        for n in block:
            c = Node(mapping[n.name], n.op, list(n.inputs), dict(n.attrs), n.device)
            if n.op == "Const":
                c.attrs["value"] = Attr("tensor", Tensor(tensor_of(n).dtype, tensor_of(n).shape,
                                                         list(tensor_of(n).values)))
            clones.append(c)
        rename_inputs(clones, mapping)
        for c in clones:
            rest = c.name[len(NMS):]
            if re.match(r"^Slice_\d+/begin$", rest):
                set_const(c, [0, k])
            elif re.match(r"^add_\d+/y$", rest):
                set_const(c, [float(k)])
        new.extend(clones)
    # Insert the clones right after the template block, keeping file order
    # close to TensorFlow's.
    pos = max(i for i, n in enumerate(nodes) if n.name in block_names) + 1
    nodes[pos:pos] = new

    by_name = {n.name: n for n in nodes}
    for which in ("concat", "concat_1", "concat_2"):
        cat = by_name[NMS + "Concatenate/" + which]
        data, axis = cat.inputs[:-1], cat.inputs[-1]
        assert len(data) == classes_from, (which, len(data))
        tmpl = data[-1]
        base, _, port = tmpl.partition(":")
        for k in range(classes_from, classes_to):
            nb = NMS + class_group_name(base[len(NMS):], last, k)
            data.append(nb + (":" + port if port else ""))
        cat.inputs = data + [axis]
        cat.attrs["N"] = Attr("i", classes_to)
    return nodes


GENERATED_PREFIXES = ("FeatureExtractor/", "BoxPredictor_", "MultipleGridAnchorGenerator/", "Concatenate/")
GENERATED_ROOTS = ("Const", "concat", "concat/axis", "concat_1", "concat_1/axis", "Squeeze")


def rewrite_template(tmpl, cfg, num_anchors, old_anchors):
    keep = [n for n in tmpl.nodes
            if not n.name.startswith(GENERATED_PREFIXES) and n.name not in GENERATED_ROOTS]
    by = {n.name: n for n in keep}
    old_size = tensor_of(by["Preprocessor/map/while/ResizeImage/stack"]).values[0]
    s = cfg.size
    set_const(by["Preprocessor/map/while/ResizeImage/stack"], [s, s])
    set_const(by["Preprocessor/map/while/ResizeImage/stack_1"], [s, s, 3])
    by["Preprocessor/map/TensorArrayStack/TensorArrayGatherV3"].attrs["element_shape"] = Attr("shape", [s, s, 3])
    for nm in ("Postprocessor/ToFloat_1/x", "Postprocessor/ToFloat_2/x"):
        assert tensor_of(by[nm]).values == [old_size], nm
        set_const(by[nm], [s])
    for nm in ("Postprocessor/stack/1", "Postprocessor/BatchMultiClassNonMaxSuppression/mul/y"):
        assert tensor_of(by[nm]).values == [old_anchors], nm
        set_const(by[nm], [num_anchors])
    r1 = by["Postprocessor/BatchMultiClassNonMaxSuppression/map/while/Reshape_1/shape"]
    old_classes = tensor_of(r1).values[1]
    set_const(r1, [-1, cfg.classes])
    if cfg.classes != old_classes:
        keep = expand_nms(keep, old_classes, cfg.classes)
    return keep, old_classes


def build(cfg, tmpl):
    used = {n.name.lower() for n in tmpl.nodes
            if not n.name.startswith(GENERATED_PREFIXES) and n.name not in GENERATED_ROOTS}
    b = Builder(used)
    w = Weights(cfg.seed)
    convs = []
    fmaps = build_backbone(b, w, cfg, "Preprocessor/sub", convs)
    anchors_per_loc = [3] + [6] * (len(fmaps) - 1)
    boxes, scores = build_box_predictors(b, w, cfg, fmaps, anchors_per_loc, convs)
    layers = anchor_layers(len(fmaps))
    anchors, num_anchors = build_anchors(b, cfg.size, [f[1] for f in fmaps], layers)
    cat = b.add("concat", "ConcatV2", boxes + [b.const_scalar_int("concat/axis", 1, False)],
                {"T": T_FLOAT, "N": Attr("i", len(boxes)), "Tidx": T_INT})
    b.add("Squeeze", "Squeeze", [cat], {"T": T_FLOAT, "squeeze_dims": ilist([2])})
    b.add("concat_1", "ConcatV2", scores + [b.const_scalar_int("concat_1/axis", 1, False)],
          {"T": T_FLOAT, "N": Attr("i", len(scores)), "Tidx": T_INT})
    assert anchors == "Concatenate/concat"

    old_anchors = tensor_of(tmpl.by_name()["Postprocessor/stack/1"]).values[0]
    kept, old_classes = rewrite_template(tmpl, cfg, num_anchors, old_anchors)
    # The generated part goes where the template's was: after the
    # preprocessor, before the postprocessor.
    first_post = next(i for i, n in enumerate(kept) if n.name.startswith("Postprocessor/"))
    nodes = kept[:first_post] + b.nodes + kept[first_post:]
    return tfgraph.Graph(nodes, tmpl.producer), convs, fmaps, num_anchors


# ---------------------------------------------------------------- checks
def count_macs(graph, size):
    """Walk the graph's convolutions with shapes propagated from the input."""
    nodes = graph.by_name()
    hw = {"Preprocessor/sub": size}
    order = []
    for n in graph.nodes:
        if n.op in ("Conv2D", "DepthwiseConv2dNative"):
            order.append(n)
    # Feature-map heights: follow the chain through BN/Relu6 names.
    def src_hw(inp):
        name = inp.split(":")[0]
        while name not in hw:
            nd = nodes[name]
            name = nd.inputs[0].split(":")[0]
        return hw[name]
    total = 0
    rows = []
    for n in order:
        wname = n.inputs[1].split(":")[0]
        wt = tensor_of(nodes[nodes[wname].inputs[0]] if nodes[wname].op == "Identity" else nodes[wname])
        kh, kw, cin, cm = wt.shape
        stride = n.attrs["strides"].value["i"][1]
        h = src_hw(n.inputs[0])
        ho = same_out(h, stride)
        if n.op == "DepthwiseConv2dNative":
            macs = ho * ho * kh * kw * cin * cm
            cout = cin * cm
        else:
            macs = ho * ho * kh * kw * cin * cm
            cout = cm
        hw[n.name] = ho
        total += macs
        rows.append((n.name, n.op, h, ho, kh, cin, cout, stride, macs))
    return total, rows


def check_anchors(tmpl):
    """Rebuild the template's anchor generator and compare node by node."""
    by = tmpl.by_name()
    grids, layers = [], []
    i = 0
    while "MultipleGridAnchorGenerator/range_%d/limit" % (2 * i) in by or (i == 0 and "MultipleGridAnchorGenerator/range/limit" in by):
        nm = "MultipleGridAnchorGenerator/range%s/limit" % ("" if i == 0 else "_%d" % (2 * i))
        grids.append(tensor_of(by[nm]).values[0])
        i += 1
    size = tensor_of(by["MultipleGridAnchorGenerator/ToFloat/x"]).values[0]
    layers = anchor_layers(len(grids))
    b = Builder({n.name.lower() for n in tmpl.nodes if not n.name.startswith(("MultipleGridAnchorGenerator/", "Concatenate/")) and n.name != "Const"})
    build_anchors(b, size, grids, layers)
    bad = 0
    for n in b.nodes:
        t = by.get(n.name)
        if t is None:
            print("anchor check: %s (%s) missing from the template" % (n.name, n.op))
            bad += 1
            continue
        if t.op != n.op or t.inputs != n.inputs:
            print("anchor check: %s differs: %s %s vs %s %s" % (n.name, n.op, n.inputs, t.op, t.inputs))
            bad += 1
            continue
        for k, a in t.attrs.items():
            if k == "_output_shapes":
                continue
            mine = n.attrs.get(k)
            if mine is None:
                print("anchor check: %s lacks attr %s" % (n.name, k))
                bad += 1
            elif a.kind == "tensor":
                tv, mv = a.value, mine.value
                same = tv.dtype == mv.dtype and tv.shape == mv.shape and (
                    tv.values == mv.values if tv.dtype != DT_FLOAT else
                    all(struct.pack("<f", x) == struct.pack("<f", y) for x, y in zip(tv.values, mv.values)))
                if not same:
                    print("anchor check: %s value %s %s vs template %s %s" % (n.name, mv.shape, mv.values[:8], tv.shape, tv.values[:8]))
                    bad += 1
            elif repr(a) != repr(mine):
                print("anchor check: %s attr %s: %r vs template %r" % (n.name, k, mine, a))
                bad += 1
    mine = {n.name for n in b.nodes}
    for n in tmpl.nodes:
        if n.name.startswith(("MultipleGridAnchorGenerator/", "Concatenate/")) and n.name not in mine:
            print("anchor check: template node %s (%s) not generated" % (n.name, n.op))
            bad += 1
    print("anchor check: %d generated nodes, %d differences" % (len(b.nodes), bad))
    return bad == 0


def label_map(classes):
    out = []
    for i in range(1, classes + 1):
        name = COCO_NAMES[i - 1] if classes == 90 else "class_%d" % i
        out.append("item {\n  id: %d\n  name: '%s'\n  display_name: \"%s\"\n}\n" % (i, name, name))
    return "".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default=DEFAULT_OUT, help="output directory (default %(default)s)")
    ap.add_argument("--template", default=DEFAULT_TEMPLATE, help="ssd_mobilenet_v1_voc frozen graph")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--depth-multiplier", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=300, help="resize target inside the graph")
    ap.add_argument("--classes", type=int, default=90, help="classes without the background")
    ap.add_argument("--check-anchors", action="store_true", help="compare the anchor builder with the template and exit")
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    ap.add_argument("--quiet", action="store_true")
    cfg = ap.parse_args(argv)
    if not os.path.isfile(cfg.template):
        print("gen: template %s not found (the shared ssd_mobilenet_v1_voc graph)" % cfg.template, file=sys.stderr)
        return 2
    tmpl = tfgraph.load(cfg.template)
    if cfg.check_anchors:
        return 0 if check_anchors(tmpl) else 1
    if cfg.classes < 20:
        print("gen: --classes must be at least the template's 20", file=sys.stderr)
        return 2
    graph, convs, fmaps, num_anchors = build(cfg, tmpl)
    data = graph.encode()
    os.makedirs(cfg.out, exist_ok=True)
    pb = os.path.join(cfg.out, "frozen_inference_graph.pb")
    with open(pb + ".tmp", "wb") as fh:
        fh.write(data)
    os.replace(pb + ".tmp", pb)
    with open(os.path.join(cfg.out, "mscoco_label_map.pbtxt"), "w") as fh:
        fh.write(label_map(cfg.classes))

    hist = collections.Counter(n.op for n in graph.nodes)
    macs, rows = count_macs(graph, cfg.size)
    summary = {
        "path": pb, "bytes": len(data), "nodes": len(graph.nodes), "convolutions": len(rows),
        "multiply_adds": macs, "anchors": num_anchors, "classes": cfg.classes + 1,
        "feature_maps": ["%dx%dx%d" % (f[1], f[2], f[3]) for f in fmaps],
        "ops": dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    if cfg.json:
        print(json.dumps(summary))
    elif not cfg.quiet:
        print("wrote %s (%.1f MB, %d nodes)" % (pb, len(data) / 1e6, len(graph.nodes)))
        print("feature maps: %s; anchors: %d; classes: %d" % (", ".join(summary["feature_maps"]), num_anchors, cfg.classes + 1))
        print("convolutions: %d (Conv2D %d, DepthwiseConv2dNative %d), %.3f G multiply-adds"
              % (len(rows), hist["Conv2D"], hist["DepthwiseConv2dNative"], macs / 1e9))
        print("op histogram:")
        for op, n in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])):
            print("  %6d %s" % (n, op))
    return 0


if __name__ == "__main__":
    sys.exit(main())
