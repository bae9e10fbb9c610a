#!/usr/bin/env python3
"""Write an ONNX model of an SSD graph's convolution stack, for timing ONNX
Runtime on the same 47 convolutions as the full-size generated graph.

Reads the TF1 frozen graph (tools/tfgraph.py) and keeps every Conv2D and
DepthwiseConv2dNative with its weights: batch norm folded into the weights
and a bias (what any runtime does at load), Relu6 as Clip(0, 6), the box
predictors' BiasAdd as the Conv bias. TensorFlow's SAME padding becomes
explicit pads (the extra row/column goes bottom/right, as TF pads). Input
"input" float32 [1, 3, S, S] (NCHW, already scaled to [-1, 1]); outputs the
12 predictor maps. No pre- or post-processing: that is the point of the
comparison (edgelens' whole graph against ORT's convolutions alone).

ONNX protobuf field numbers from onnx.proto (ModelProto, GraphProto,
NodeProto, AttributeProto, TensorProto, ValueInfoProto); opset 13.
Python 3 stdlib only.
Usage: onnx_convstack.py GRAPH.pb OUT.onnx [--size 300]
"""
import argparse
import math
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import tfgraph  # noqa: E402
from tfgraph import enc_len, enc_int, enc_varint  # noqa: E402

ONNX_FLOAT = 1
ATTR_INT, ATTR_INTS = 2, 7


def enc_str(f, s):
    return enc_len(f, s.encode())


def tensor_proto(name, dims, values):
    out = bytearray()
    out += enc_len(1, b"".join(enc_varint(d) for d in dims))  # dims (packed int64)
    out += enc_int(2, ONNX_FLOAT)                            # data_type
    out += enc_str(8, name)                                  # name
    out += enc_len(9, struct.pack("<%df" % len(values), *values))  # raw_data
    return bytes(out)


def attr_int(name, v):
    return enc_str(1, name) + enc_int(3, v) + enc_int(20, ATTR_INT)


def attr_ints(name, vs):
    return enc_str(1, name) + enc_len(8, b"".join(enc_varint(v) for v in vs)) + enc_int(20, ATTR_INTS)


def node_proto(op, inputs, outputs, name, attrs=()):
    out = bytearray()
    for i in inputs:
        out += enc_str(1, i)
    for o in outputs:
        out += enc_str(2, o)
    out += enc_str(3, name)
    out += enc_str(4, op)
    for a in attrs:
        out += enc_len(5, a)
    return bytes(out)


def value_info(name, dims):
    shape = b"".join(enc_len(1, enc_int(1, d)) for d in dims)        # Dimension.dim_value
    tensor_type = enc_int(1, ONNX_FLOAT) + enc_len(2, shape)         # elem_type, shape
    return enc_str(1, name) + enc_len(2, enc_len(1, tensor_type))     # name, type.tensor_type


def same_pads(n, k, s):
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pb")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=300)
    a = ap.parse_args()
    g = tfgraph.load(a.pb)
    by = g.by_name()
    consumers = {}
    for n in g.nodes:
        for i in n.inputs:
            consumers.setdefault(i.split(":")[0].lstrip("^"), []).append(n)

    def const_of(name):
        n = by[name.split(":")[0]]
        while n.op == "Identity":
            n = by[n.inputs[0].split(":")[0]]
        return n.attrs["value"].value

    def only_consumer(name, op):
        cs = [c for c in consumers.get(name, []) if c.op == op]
        return cs[0] if cs else None

    nodes, inits, outputs = [], [], []
    onnx_of = {}  # TF tensor at a block's tail -> (ONNX name, C, H)
    convs = [n for n in g.nodes if n.op in ("Conv2D", "DepthwiseConv2dNative")]
    macs = 0
    for idx, n in enumerate(convs):
        src = n.inputs[0].split(":")[0]
        if idx == 0:
            x, cin, h = "input", 3, a.size
        else:
            x, cin, h = onnx_of[src]
        w = const_of(n.inputs[1])
        kh, kw, wc, cm = w.shape
        s = n.attrs["strides"].value["i"][1]
        dw = n.op == "DepthwiseConv2dNative"
        cout = wc * cm if dw else cm
        # HWIO (or HW C M for depthwise) -> OIHW
        vals = w.values
        wt = [0.0] * len(vals)
        if dw:
            for y in range(kh):
                for xx in range(kw):
                    for c in range(wc):
                        for m in range(cm):
                            wt[((c * cm + m) * kh + y) * kw + xx] = vals[((y * kw + xx) * wc + c) * cm + m]
        else:
            for y in range(kh):
                for xx in range(kw):
                    base = (y * kw + xx) * wc
                    for c in range(wc):
                        row = (base + c) * cm
                        for o in range(cm):
                            wt[((o * wc + c) * kh + y) * kw + xx] = vals[row + o]
        bias = [0.0] * cout
        tail = n.name
        bn = only_consumer(n.name, "FusedBatchNorm") or only_consumer(n.name, "FusedBatchNormV3")
        relu = None
        if bn:
            gamma, beta, mean, var = (const_of(i).values for i in bn.inputs[1:5])
            eps = bn.attrs["epsilon"].value if "epsilon" in bn.attrs else 1e-4
            per_o = kh * kw * (1 if dw else wc)
            for o in range(cout):
                sc = gamma[o] / math.sqrt(var[o] + eps)
                for j in range(o * per_o, (o + 1) * per_o):
                    wt[j] *= sc
                bias[o] = beta[o] - mean[o] * sc
            tail = bn.name
            relu = only_consumer(bn.name, "Relu6")
        else:
            ba = only_consumer(n.name, "BiasAdd")
            if ba:
                bias = list(const_of(ba.inputs[1]).values)
                tail = ba.name
        ho, pt, pb = same_pads(h, kh, s)
        _, pl, pr = same_pads(h, kw, s)
        name = "conv%d" % idx
        inits.append(tensor_proto(name + "_w", [cout, 1 if dw else wc, kh, kw], wt))
        inits.append(tensor_proto(name + "_b", [cout], bias))
        attrs = [attr_ints("kernel_shape", [kh, kw]), attr_ints("strides", [s, s]),
                 attr_ints("pads", [pt, pl, pb, pr]), attr_ints("dilations", [1, 1]),
                 attr_int("group", wc if dw else 1)]
        nodes.append(node_proto("Conv", [x, name + "_w", name + "_b"], [name], n.name, attrs))
        out_name = name
        if relu:
            nodes.append(node_proto("Clip", [name, "clip_min", "clip_max"], [name + "_relu6"], relu.name))
            out_name = name + "_relu6"
            tail = relu.name
        else:
            outputs.append((out_name, cout, ho))
        onnx_of[tail] = (out_name, cout, ho)
        macs += ho * ho * kh * kw * (1 if dw else wc) * cout
    scalar = lambda nm, v: enc_int(2, ONNX_FLOAT) + enc_str(8, nm) + enc_len(9, struct.pack("<f", v))  # noqa: E731
    graph = bytearray()
    for nd in nodes:
        graph += enc_len(1, nd)
    graph += enc_str(2, "ssd_mobilenet_v1_convs")
    for t in inits:
        graph += enc_len(5, t)
    graph += enc_len(5, scalar("clip_min", 0.0))
    graph += enc_len(5, scalar("clip_max", 6.0))
    graph += enc_len(11, value_info("input", [1, 3, a.size, a.size]))
    for nm, c, hh in outputs:
        graph += enc_len(12, value_info(nm, [1, c, hh, hh]))
    model = enc_int(1, 7) + enc_str(2, "edgelens-bench") + enc_len(7, bytes(graph))
    model += enc_len(8, enc_str(1, "") + enc_int(2, 13))  # opset_import: default domain, 13
    with open(a.out, "wb") as fh:
        fh.write(model)
    print("%s: %d convolutions, %.3f G multiply-adds, %d outputs" % (a.out, len(convs), macs / 1e9, len(outputs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
