"""Minimal TensorFlow GraphDef reader/writer (Python 3 stdlib only).

Field numbers are those of tensorflow/core/framework/{graph,node_def,
attr_value,tensor,tensor_shape,types,versions}.proto.  Only what a TF1
frozen graph uses is modelled: nodes, attrs, tensors, shapes, versions.
"""
import struct

# DataType enum values (types.proto).
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_INT64, DT_BOOL, DT_RESOURCE = 9, 10, 20
DT_NAMES = {1: "float", 2: "double", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
            7: "string", 9: "int64", 10: "bool", 19: "half", 20: "resource"}


# ---------------------------------------------------------------- wire format
def _varint(buf, pos):
    v = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """Yield (field, wiretype, value) of one message; LEN values are memoryviews."""
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        f, w = key >> 3, key & 7
        if w == 0:
            v, pos = _varint(buf, pos)
        elif w == 1:
            v = bytes(buf[pos:pos + 8])
            pos += 8
        elif w == 2:
            ln, pos = _varint(buf, pos)
            v = buf[pos:pos + ln]
            pos += ln
        elif w == 5:
            v = bytes(buf[pos:pos + 4])
            pos += 4
        else:
            raise ValueError("bad wire type %d" % w)
        yield f, w, v


def enc_varint(v):
    if v < 0:
        v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(f, w):
    return enc_varint((f << 3) | w)


def enc_len(f, data):
    return _key(f, 2) + enc_varint(len(data)) + data


def enc_int(f, v):
    return _key(f, 0) + enc_varint(v)


def _signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


# ---------------------------------------------------------------- model
class Tensor:
    """A TensorProto: dtype, shape (list of ints) and values (flat list)."""

    def __init__(self, dtype, shape, values):
        self.dtype = dtype
        self.shape = list(shape)
        self.values = values  # list of numbers / bytes

    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def encode(self):
        out = bytearray(enc_int(1, self.dtype))
        out += enc_len(2, enc_shape(self.shape))
        vals = self.values
        n = self.numel()
        if self.dtype == DT_STRING:
            for s in vals:
                out += enc_len(8, s)
            return bytes(out)
        fmt = {DT_FLOAT: "f", DT_INT32: "i", DT_INT64: "q", DT_UINT8: "B",
               DT_BOOL: "?", DT_DOUBLE: "d", DT_INT8: "b", DT_INT16: "h"}[self.dtype]
        if len(vals) == 1 and n != 1:
            # A splat: one typed value fills the tensor (TensorProto rule).
            field = {DT_FLOAT: 5, DT_DOUBLE: 6, DT_INT64: 10, DT_BOOL: 11}.get(self.dtype, 7)
            if field == 5:
                out += _key(5, 5) + struct.pack("<f", vals[0])
            elif field == 6:
                out += _key(6, 1) + struct.pack("<d", vals[0])
            else:
                out += enc_int(field, int(vals[0]))
        elif n > 0:
            out += enc_len(4, struct.pack("<%d%s" % (n, fmt), *vals))
        return bytes(out)


def enc_shape(shape):
    if shape is None:
        return enc_int(3, 1)
    out = bytearray()
    for d in shape:
        out += enc_len(2, enc_int(1, d) if d != 0 else b"")
    return bytes(out)


def dec_shape(buf):
    dims = []
    unknown = False
    for f, w, v in fields(buf):
        if f == 2:
            size = 0
            for f2, w2, v2 in fields(v):
                if f2 == 1:
                    size = _signed64(v2)
            dims.append(size)
        elif f == 3 and v:
            unknown = True
    return None if unknown else dims


def dec_tensor(buf):
    dtype = DT_FLOAT
    shape = []
    content = None
    typed = {}
    for f, w, v in fields(buf):
        if f == 1:
            dtype = v
        elif f == 2:
            shape = dec_shape(v) or []
        elif f == 4:
            content = bytes(v)
        else:
            typed.setdefault(f, []).append((w, v))
    t = Tensor(dtype, shape, [])
    n = t.numel()
    fmt = {DT_FLOAT: "f", DT_INT32: "i", DT_INT64: "q", DT_UINT8: "B",
           DT_BOOL: "?", DT_DOUBLE: "d", DT_INT8: "b", DT_INT16: "h"}.get(dtype)
    if dtype == DT_STRING:
        t.values = [bytes(v) for w, v in typed.get(8, [])]
        return t
    if content is not None and fmt:
        t.values = list(struct.unpack("<%d%s" % (n, fmt), content))
        return t
    vals = []
    for fld, items in typed.items():
        for w, v in items:
            if w == 2:  # packed
                if fld == 5:
                    vals += list(struct.unpack("<%df" % (len(v) // 4), bytes(v)))
                elif fld == 6:
                    vals += list(struct.unpack("<%dd" % (len(v) // 8), bytes(v)))
                else:
                    p = 0
                    while p < len(v):
                        x, p = _varint(v, p)
                        vals.append(_signed64(x))
            elif w == 5:
                vals.append(struct.unpack("<f", v)[0])
            elif w == 1:
                vals.append(struct.unpack("<d", v)[0])
            else:
                vals.append(_signed64(v))
    if dtype in (DT_INT32,):
        vals = [((x + (1 << 31)) % (1 << 32)) - (1 << 31) for x in vals]
    if dtype == DT_BOOL:
        vals = [bool(x) for x in vals]
    if n > 0 and 0 < len(vals) < n:
        vals = vals + [vals[-1]] * (n - len(vals))  # TensorProto: last value repeats
    t.values = vals
    return t


class Attr:
    """An AttrValue: kind is one of s,i,f,b,type,shape,tensor,list,placeholder,func."""

    def __init__(self, kind, value):
        self.kind = kind
        self.value = value

    def __repr__(self):
        if self.kind == "tensor":
            return "tensor(%s %s)" % (DT_NAMES.get(self.value.dtype), self.value.shape)
        return "%s(%r)" % (self.kind, self.value)


def dec_list(buf):
    out = {"s": [], "i": [], "f": [], "b": [], "type": [], "shape": [], "tensor": []}
    for f, w, v in fields(buf):
        if f == 2:
            out["s"].append(bytes(v))
        elif f in (3, 5, 6):
            key = {3: "i", 5: "b", 6: "type"}[f]
            if w == 2:
                p = 0
                while p < len(v):
                    x, p = _varint(v, p)
                    out[key].append(_signed64(x))
            else:
                out[key].append(_signed64(v))
        elif f == 4:
            if w == 2:
                out["f"] += list(struct.unpack("<%df" % (len(v) // 4), bytes(v)))
            else:
                out["f"].append(struct.unpack("<f", v)[0])
        elif f == 7:
            out["shape"].append(dec_shape(v))
        elif f == 8:
            out["tensor"].append(dec_tensor(v))
    return {k: v for k, v in out.items() if v} or {}


def enc_list(lst):
    out = bytearray()
    for s in lst.get("s", []):
        out += enc_len(2, s)
    if lst.get("i"):
        out += enc_len(3, b"".join(enc_varint(x) for x in lst["i"]))
    if lst.get("f"):
        out += enc_len(4, struct.pack("<%df" % len(lst["f"]), *lst["f"]))
    if lst.get("b"):
        out += enc_len(5, b"".join(enc_varint(int(x)) for x in lst["b"]))
    if lst.get("type"):
        out += enc_len(6, b"".join(enc_varint(x) for x in lst["type"]))
    for s in lst.get("shape", []):
        out += enc_len(7, enc_shape(s))
    for t in lst.get("tensor", []):
        out += enc_len(8, t.encode())
    return bytes(out)


def dec_attr(buf):
    for f, w, v in fields(buf):
        if f == 1:
            return Attr("list", dec_list(v))
        if f == 2:
            return Attr("s", bytes(v))
        if f == 3:
            return Attr("i", _signed64(v))
        if f == 4:
            return Attr("f", struct.unpack("<f", v)[0])
        if f == 5:
            return Attr("b", bool(v))
        if f == 6:
            return Attr("type", v)
        if f == 7:
            return Attr("shape", dec_shape(v))
        if f == 8:
            return Attr("tensor", dec_tensor(v))
        if f == 9:
            return Attr("placeholder", bytes(v).decode())
    return Attr("list", {})


def enc_attr(a):
    k, v = a.kind, a.value
    if k == "list":
        return enc_len(1, enc_list(v))
    if k == "s":
        return enc_len(2, v)
    if k == "i":
        return enc_int(3, v)
    if k == "f":
        return _key(4, 5) + struct.pack("<f", v)
    if k == "b":
        return enc_int(5, int(v))
    if k == "type":
        return enc_int(6, v)
    if k == "shape":
        return enc_len(7, enc_shape(v))
    if k == "tensor":
        return enc_len(8, v.encode())
    if k == "placeholder":
        return enc_len(9, v.encode())
    raise ValueError(k)


class Node:
    def __init__(self, name, op, inputs=None, attrs=None, device=""):
        self.name = name
        self.op = op
        self.inputs = list(inputs or [])
        self.attrs = dict(attrs or {})
        self.device = device

    def encode(self):
        out = bytearray(enc_len(1, self.name.encode()) + enc_len(2, self.op.encode()))
        for i in self.inputs:
            out += enc_len(3, i.encode())
        if self.device:
            out += enc_len(4, self.device.encode())
        for k in sorted(self.attrs):
            out += enc_len(5, enc_len(1, k.encode()) + enc_len(2, enc_attr(self.attrs[k])))
        return bytes(out)


def dec_node(buf):
    n = Node("", "")
    for f, w, v in fields(buf):
        if f == 1:
            n.name = bytes(v).decode()
        elif f == 2:
            n.op = bytes(v).decode()
        elif f == 3:
            n.inputs.append(bytes(v).decode())
        elif f == 4:
            n.device = bytes(v).decode()
        elif f == 5:
            key, val = "", None
            for f2, w2, v2 in fields(v):
                if f2 == 1:
                    key = bytes(v2).decode()
                elif f2 == 2:
                    val = dec_attr(v2)
            n.attrs[key] = val if val is not None else Attr("list", {})
    return n


class Graph:
    def __init__(self, nodes=None, producer=26):
        self.nodes = list(nodes or [])
        self.producer = producer

    def encode(self):
        out = bytearray()
        for n in self.nodes:
            out += enc_len(1, n.encode())
        out += enc_len(4, enc_int(1, self.producer))
        return bytes(out)

    def by_name(self):
        return {n.name: n for n in self.nodes}


def load(path):
    with open(path, "rb") as fh:
        data = memoryview(fh.read())
    g = Graph()
    for f, w, v in fields(data):
        if f == 1:
            g.nodes.append(dec_node(v))
        elif f == 4:
            for f2, w2, v2 in fields(v):
                if f2 == 1:
                    g.producer = v2
    return g
