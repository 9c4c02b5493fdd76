"""Hypothesis generator of small, realistic PyTorch model programs (source text), for differential fuzzing.

A program is an `nn.Module` subclass `Net` whose `__init__` builds 2-8 layers (sometimes from constructor
parameters with defaults, sometimes in a loop, a helper method or an `nn.Sequential`), a `forward` that
applies them with tensor ops in between, and a driver at the bottom (`model = Net(...)`,
`x = torch.randn(...)`, `out = model(x)`).

The generator tracks the concrete shape flowing through `forward` so that its programs are mostly
correct; roughly half of them then get exactly one wrong argument (an in_channels / in_features /
num_features / input_size / normalized_shape / view size / input size off by some amount). Torch decides
what is actually wrong: the generator's intent is only a bias.

`Program.source` is what shapels analyses; `Program.instrumented` is the same text, line for line, with
`; _rec("x", x)` after every assignment in forward so a real run can record each binding's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Union

from hypothesis import strategies as st


# -- pieces of text ----------------------------------------------------------------------------------
@dataclass(eq=False)
class Slot:
    """An integer in the program text that a bug may change. `factors` renders it as a product."""

    value: int
    kind: str  # "in" (must equal an arriving dim), "view", "input"
    name: Optional[str] = None  # rendered as a parameter name instead of a literal
    factors: Optional[list] = None
    wrong: Optional[int] = None  # the injected wrong value
    wrong_factors: Optional[list] = None
    order: int = -1  # index of the op that wrote it (-1: the driver's input)

    def render(self) -> str:
        if self.wrong_factors is not None:
            return " * ".join(str(f) for f in self.wrong_factors)
        if self.wrong is not None:
            return str(self.wrong)
        if self.name is not None:
            return self.name
        if self.factors is not None and len(self.factors) > 1:
            return " * ".join(str(f) for f in self.factors)
        return str(self.value)


Piece = Union[str, Slot]


@dataclass
class Line:
    pieces: list
    indent: int = 0  # extra indentation levels within the method body
    targets: tuple = ()  # names assigned here (forward only), recorded in the instrumented copy

    def render(self) -> str:
        return "".join(p.render() if isinstance(p, Slot) else p for p in self.pieces)


def L(*pieces, indent=0, targets=()) -> Line:
    return Line(list(pieces), indent, tuple(targets))


@dataclass
class Op:
    init: list = field(default_factory=list)  # Lines in __init__
    fwd: list = field(default_factory=list)  # Lines in forward
    simple: Optional[tuple] = None  # (attr, ctor pieces): `x = self.attr(x)`, may join an nn.Sequential
    layers: int = 0


@dataclass
class Program:
    source: str
    instrumented: str
    bug_line: Optional[int]  # the line holding the injected wrong value
    bug: Optional[str]
    n_layers: int

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return f"Program(bug={self.bug!r}, bug_line={self.bug_line})\n{numbered(self.source)}"


def numbered(text: str) -> str:
    return "\n".join(f"{i:3d}  {line}" for i, line in enumerate(text.splitlines(), 1))


# -- shape helpers ------------------------------------------------------------------------------------
def conv_out(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(n, k, s, p, ceil):
    span = n + 2 * p - k
    if ceil:
        out = -(-span // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return span // s + 1


# -- the builder --------------------------------------------------------------------------------------
class Gen:
    def __init__(self, draw):
        self.draw = draw
        self.counts: dict = {}
        self.params: list = []  # (name, Slot-or-int default or None, driver value or None)
        self.helpers: dict = {}  # name -> list of Lines (class-body level, including def)
        self.slots: list = []
        self.uses_F = False
        self.cname: Optional[str] = None  # parameter naming the current channel/feature dim
        self.op_index = 0  # index of the op being built
        self.fanouts: list = []  # indices of ops that feed one tensor to two layers

    def b(self, p=0.5) -> bool:
        return self.draw(st.sampled_from(range(100))) < p * 100

    def pick(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def attr(self, base: str) -> str:
        self.counts[base] = self.counts.get(base, 0) + 1
        return f"{base}{self.counts[base]}"

    def slot_in(self, value: int, kind="in", named=True) -> Slot:
        """The argument that must equal an arriving dim; named by a parameter when one carries it."""
        s = Slot(value, kind, name=self.cname if named else None, order=self.op_index)
        self.slots.append(s)
        return s

    def out_dim(self, value: int) -> Piece:
        """An output width: a literal, or sometimes a new constructor parameter with a default."""
        self.cname = None
        if self.b(0.25):
            name = self.pick(["hidden", "width", "channels", "dim", "features"])
            name = name if all(n != name for n, *_ in self.params) else self.attr(name)
            via_driver = self.b(0.3)
            default = value if not via_driver else (value if self.b() else None)
            self.params.append((name, default, value if via_driver else None))
            self.cname = name
            return name
        return str(value)

    # -- ops by layout. Each returns (Op, new_shape, new_layout) or None when it does not apply. -----
    def act(self, shape, layout):
        kind = self.pick(["ReLU", "Dropout", "Identity", "relu_fn", "F.relu", "GELU"])
        if kind == "relu_fn":
            return Op(fwd=[L("x = torch.relu(x)", targets="x")]), shape, layout
        if kind == "F.relu":
            self.uses_F = True
            return Op(fwd=[L("x = F.relu(x)", targets="x")]), shape, layout
        a = self.attr({"ReLU": "act", "Dropout": "drop", "Identity": "skip", "GELU": "act"}[kind])
        ctor = {"ReLU": "nn.ReLU()", "Dropout": f"nn.Dropout({self.pick(['0.1', '0.5', 'p=0.2'])})",
                "Identity": "nn.Identity()", "GELU": "nn.GELU()"}[kind]
        return self.simple(a, [ctor]), shape, layout

    def simple(self, attr, ctor) -> Op:
        return Op(init=[L(f"self.{attr} = ", *ctor)], fwd=[L(f"x = self.{attr}(x)", targets="x")],
                  simple=(attr, ctor), layers=1)

    def conv2d(self, shape, layout):
        n, c, h, w = shape
        k = self.pick([1, 3, 5])
        s = self.pick([1, 1, 2])
        p = self.pick([0, 1, k // 2])
        if conv_out(h, k, s, p) < 1 or conv_out(w, k, s, p) < 1:
            return None
        cout = self.pick([4, 6, 8, 16])
        a = self.attr("conv")
        cin = self.slot_in(c)
        cout_t = self.out_dim(cout)
        style = self.pick(["pos", "kw", "mixed"])
        if style == "pos":
            args = [cin, f", {cout_t}, {k}"] + ([f", {s}, {p}"] if s != 1 or p else [])
        elif style == "kw":
            args = ["in_channels=", cin, f", out_channels={cout_t}, kernel_size={k}, stride={s}, padding={p}"]
        else:
            args = [cin, f", {cout_t}, kernel_size={k}"] + ([f", stride={s}"] if s != 1 else []) + ([f", padding={p}"] if p else [])
        ho, wo = conv_out(h, k, s, p), conv_out(w, k, s, p)
        variant = self.pick(["plain", "plain", "plain", "tuple", "dilation", "same"])
        if variant == "tuple":
            kw_ = self.pick([1, 3])
            pw = kw_ // 2
            if conv_out(w, kw_, s, pw) < 1:
                return None
            args = [cin, f", {cout_t}, kernel_size=({k}, {kw_}), stride={s}, padding=({p}, {pw})"]
            wo = conv_out(w, kw_, s, pw)
        elif variant == "dilation" and k == 3:
            d = 2
            if conv_out(h, k, s, p, d) < 1 or conv_out(w, k, s, p, d) < 1:
                return None
            args = args + [", dilation=2"]
            ho, wo = conv_out(h, k, s, p, d), conv_out(w, k, s, p, d)
        elif variant == "same":
            args = [cin, f", {cout_t}, {k}, padding=\"same\""]
            ho, wo = h, w
        if self.b(0.2):
            args.append(", bias=False")
        return self.simple(a, ["nn.Conv2d(", *args, ")"]), (n, cout, ho, wo), layout

    def convt2d(self, shape, layout):
        n, c, h, w = shape
        k = self.pick([2, 3, 4])
        s = self.pick([1, 2])
        p = self.pick([0, 1])
        op = self.pick(range(s))
        ho, wo = (h - 1) * s - 2 * p + k + op, (w - 1) * s - 2 * p + k + op
        if ho < 1 or wo < 1 or ho > 40 or wo > 40:
            return None
        cout = self.pick([4, 8])
        a = self.attr("up")
        cin = self.slot_in(c)
        extra = f", stride={s}" + (f", padding={p}" if p else "") + (f", output_padding={op}" if op else "")
        return self.simple(a, ["nn.ConvTranspose2d(", cin, f", {self.out_dim(cout)}, {k}{extra})"]), (n, cout, ho, wo), layout

    def pool2d(self, shape, layout):
        n, c, h, w = shape
        kind = self.pick(["MaxPool2d", "AvgPool2d"])
        k = self.pick([2, 2, 3])
        s = self.pick([None, None, 1, 2])
        p = self.pick([0, 0, 1]) if k >= 2 else 0
        ceil = self.b(0.35)
        st_ = s or k
        if h + 2 * p < k or w + 2 * p < k:
            return None
        ho, wo = pool_out(h, k, st_, p, ceil), pool_out(w, k, st_, p, ceil)
        if ho < 1 or wo < 1:
            return None
        args = f"{k}" + (f", stride={s}" if s else "") + (f", padding={p}" if p else "") + (", ceil_mode=True" if ceil else "")
        if self.b(0.2) and not s and not p and not ceil:
            args = f"kernel_size={k}"
        return self.simple(self.attr("pool"), [f"nn.{kind}({args})"]), (n, c, ho, wo), layout

    def adaptive(self, shape, layout):
        n, c, h, w = shape
        size = self.pick([1, 1, 2, 4, (2, 3)])
        ho, wo = (size, size) if isinstance(size, int) else size
        return self.simple(self.attr("gap"), [f"nn.AdaptiveAvgPool2d({size})"]), (n, c, ho, wo), layout

    def bn(self, shape, layout):
        c = shape[1] if layout in ("img", "ncl") else shape[-1]
        kind = "BatchNorm2d" if layout == "img" else "BatchNorm1d"
        if layout == "nlc":
            return None
        slot = self.slot_in(c)
        return self.simple(self.attr("bn"), [f"nn.{kind}(", slot, ")"]), shape, layout

    def layernorm(self, shape, layout):
        if layout == "img" and self.b(0.4):
            _, c, h, w = shape
            return self.simple(self.attr("norm"), [f"nn.LayerNorm([{c}, {h}, ", self.slot_in(w, named=False), "])"]), shape, layout
        slot = self.slot_in(shape[-1], named=layout in ("nlc", "flat"))
        return self.simple(self.attr("norm"), ["nn.LayerNorm(", slot, ")"]), shape, layout

    def residual_conv(self, shape, layout):
        n, c, h, w = shape
        a = self.attr("res")
        cin = self.slot_in(c)
        op = Op(init=[L(f"self.{a} = nn.Conv2d(", cin, f", {c}, 3, padding=1)")],
                fwd=[L(f"x = x + self.{a}(x)", targets="x")] if self.b() else [L(f"y = self.{a}(x)", targets="y"), L("x = x + y", targets="x")],
                layers=1)
        return op, shape, layout

    def branches(self, shape, layout):
        """Two branches joined by torch.cat along the channel/feature dim."""
        c1, c2 = self.pick([2, 4, 8]), self.pick([4, 8])
        self.fanouts.append(self.op_index)
        a, b = self.attr("branch"), self.attr("branch")
        if layout == "img":
            n, c, h, w = shape
            ca, cb = self.slot_in(c), self.slot_in(c)
            init = [L(f"self.{a} = nn.Conv2d(", ca, f", {c1}, 1)"), L(f"self.{b} = nn.Conv2d(", cb, f", {c2}, 3, padding=1)")]
            new, dim = (n, c1 + c2, h, w), self.pick(["1", "dim=1"])
        else:
            f = shape[-1]
            ca, cb = self.slot_in(f), self.slot_in(f)
            init = [L(f"self.{a} = nn.Linear(", ca, f", {c1})"), L(f"self.{b} = nn.Linear(", cb, f", {c2})")]
            new, dim = shape[:-1] + (c1 + c2,), self.pick(["-1", "dim=-1"] + ([f"dim={len(shape) - 1}"]))
        self.cname = None
        join = self.pick(["[", "("])
        fwd = [L(f"a = self.{a}(x)", targets="a"), L(f"b = self.{b}(x)", targets="b"),
               L(f"x = torch.cat({join}a, b{']' if join == '[' else ')'}, {dim})", targets="x")]
        return Op(init=init, fwd=fwd, layers=2), new, layout

    def flatten(self, shape, layout):
        n = shape[0]
        rest = list(shape[1:])
        total = math.prod(rest)
        self.cname = None
        kind = self.pick(["view_size", "flatten_fn", "nn_flatten", "reshape_n", "view_explicit", "view_neg"])
        if kind == "view_size":
            return Op(fwd=[L("x = x.view(x.size(0), -1)", targets="x")]), (n, total), "flat"
        if kind == "flatten_fn":
            return Op(fwd=[L(self.pick(["x = torch.flatten(x, 1)", "x = x.flatten(1)", "x = torch.flatten(x, start_dim=1)"]), targets="x")]), (n, total), "flat"
        if kind == "nn_flatten":
            return self.simple(self.attr("flatten"), ["nn.Flatten()"]), (n, total), "flat"
        if kind == "reshape_n":
            return Op(fwd=[L("n = x.size(0)" if self.b() else "n = x.shape[0]"), L("x = x.reshape(n, -1)", targets="x")]), (n, total), "flat"
        slot = Slot(total, "view", factors=rest, order=self.op_index)
        self.slots.append(slot)
        if kind == "view_explicit":
            return Op(fwd=[L("x = x.view(x.size(0), ", slot, ")", targets="x")]), (n, total), "flat"
        return Op(fwd=[L("x = x.view(-1, ", slot, ")", targets="x")]), (n, total), "flat"

    def spatial_mean(self, shape, layout):
        n, c, h, w = shape
        self.cname = self.cname
        form = self.pick(["x = x.mean(dim=(2, 3))", "x = x.mean([2, 3])", "x = x.mean(-1).mean(-1)", "x = torch.mean(x, dim=[2, 3])"])
        return Op(fwd=[L(form, targets="x")]), (n, c), "flat"

    def squeeze_gap(self, shape, layout):
        n, c, h, w = shape
        if (h, w) != (1, 1):
            return None
        form = self.pick(["x = x.squeeze(-1).squeeze(-1)", "x = x.squeeze(3).squeeze(2)", "x = x.view(x.size(0), -1)"])
        return Op(fwd=[L(form, targets="x")]), (n, c), "flat"

    def to_seq(self, shape, layout):
        n, c, h, w = shape
        if self.b():
            return Op(fwd=[L(self.pick(["x = x.flatten(2).transpose(1, 2)", "x = x.flatten(2).permute(0, 2, 1)"]), targets="x")]), (n, h * w, c), "nlc"
        if self.b(0.3):
            slot = Slot(c, "view", order=self.op_index)
            self.slots.append(slot)
            return Op(fwd=[L("x = x.view(x.size(0), ", slot, ", -1)", targets="x")]), (n, c, h * w), "ncl"
        if self.b(0.2):
            return Op(fwd=[L("x = x.reshape(x.size(0), x.size(1), -1)", targets="x")]), (n, c, h * w), "ncl"
        return Op(fwd=[L("x = x.flatten(2)", targets="x")]), (n, c, h * w), "ncl"

    def conv1d(self, shape, layout):
        n, c, length = shape
        k = self.pick([1, 3, 5])
        p = self.pick([0, k // 2])
        s = self.pick([1, 1, 2])
        if conv_out(length, k, s, p) < 1:
            return None
        cout = self.pick([4, 8, 12])
        cin = self.slot_in(c)
        extra = (f", stride={s}" if s != 1 else "") + (f", padding={p}" if p else "")
        return self.simple(self.attr("conv"), ["nn.Conv1d(", cin, f", {self.out_dim(cout)}, {k}{extra})"]), (n, cout, conv_out(length, k, s, p)), layout

    def swap(self, shape, layout):
        n, a, b = shape
        form = self.pick(["x = x.transpose(1, 2)", "x = x.permute(0, 2, 1)", "x = x.transpose(-1, -2)"])
        self.cname = None
        return Op(fwd=[L(form, targets="x")]), (n, b, a), {"ncl": "nlc", "nlc": "ncl"}[layout]

    def seq_mean(self, shape, layout):
        n, a, b = shape
        self.cname = None
        if layout == "ncl":
            return Op(fwd=[L(self.pick(["x = x.mean(dim=2)", "x = x.mean(-1)"]), targets="x")]), (n, a), "flat"
        form = self.pick(["x = x.mean(dim=1)", "x = x.mean(1)", "x = x[:, -1]", "x = x[:, 0, :]"])
        return Op(fwd=[L(form, targets="x")]), (n, b), "flat"

    def linear(self, shape, layout):
        f = shape[-1]
        out = self.pick([4, 8, 10, 16, 32])
        cin = self.slot_in(f)
        if layout == "flat" and not isinstance(cin.name, str) and self.b(0.3) and len(self.last_factors or []) > 1 and math.prod(self.last_factors) == f:
            cin.factors = list(self.last_factors)
        ctor = ["nn.Linear(", cin, f", {self.out_dim(out)}" + (", bias=False" if self.b(0.15) else "") + ")"]
        if self.b(0.15):
            ctor = ["nn.Linear(in_features=", cin, f", out_features={out})"]
            self.cname = None
        return self.simple(self.attr("fc"), ctor), shape[:-1] + (out,), layout

    def residual_linear(self, shape, layout):
        f = shape[-1]
        a = self.attr("proj")
        cin = self.slot_in(f)
        return Op(init=[L(f"self.{a} = nn.Linear(", cin, f", {f})")], fwd=[L(f"x = x + self.{a}(x)", targets="x")], layers=1), shape, layout

    def rnn(self, shape, layout):
        n, length, f = shape
        kind = self.pick(["LSTM", "GRU"])
        hid = self.pick([4, 8, 16])
        layers = self.pick([1, 1, 2])
        bi = self.b(0.4)
        cin = self.slot_in(f)
        self.cname = None
        args = [cin, f", {hid}"]
        if self.b(0.3):
            args = ["input_size=", cin, f", hidden_size={hid}"]
        args.append((f", num_layers={layers}" if layers > 1 else "") + ", batch_first=True" + (", bidirectional=True" if bi else ""))
        a = self.attr(kind.lower())
        if self.b(0.2):
            args[-1] = args[-1].replace(", batch_first=True", "")
            op = Op(init=[L(f"self.{a} = nn.{kind}(", *args, ")")],
                    fwd=[L("x = x.transpose(0, 1)", targets="x"), L(f"x, _ = self.{a}(x)", targets="x"),
                         L("x = x.transpose(0, 1)", targets="x")], layers=1)
            return op, (n, length, hid * (2 if bi else 1)), layout
        if kind == "LSTM" and self.b(0.3):
            fwd = [L(f"x, (h, c) = self.{a}(x)", targets=("x", "h", "c"))]
        else:
            fwd = [L(f"x, _ = self.{a}(x)", targets="x")]
        new = (n, length, hid * (2 if bi else 1))
        if self.b(0.3):
            fwd.append(L("x = x[:, -1, :]", targets="x"))
            return Op(init=[L(f"self.{a} = nn.{kind}(", *args, ")")], fwd=fwd, layers=1), (n, new[2]), "flat"
        return Op(init=[L(f"self.{a} = nn.{kind}(", *args, ")")], fwd=fwd, layers=1), new, layout

    def unsqueeze(self, shape, layout):
        self.cname = None
        if layout == "flat":
            if self.b():
                return Op(fwd=[L("x = x.unsqueeze(1)", targets="x")]), (shape[0], 1, shape[1]), "nlc"
            return Op(fwd=[L("x = x.unsqueeze(-1)", targets="x")]), (shape[0], shape[1], 1), "ncl"
        n, length, f = shape
        return Op(fwd=[L("x = x.unsqueeze(1)", targets="x")]), (n, 1, length, f), "img"

    def unflatten(self, shape, layout):
        """flat -> image with an explicit view size."""
        n, f = shape
        for side in (4, 2):
            if f % (side * side) == 0 and f // (side * side) <= 64:
                c = f // (side * side)
                cs = Slot(c, "view", order=self.op_index)
                self.slots.append(cs)
                self.cname = None
                head = self.pick(["x.size(0)", "-1", "n"])
                lines = [L("n = x.size(0)")] if head == "n" else []
                lines.append(L(f"x = x.view({head}, ", cs, f", {side}, {side})", targets="x"))
                return Op(fwd=lines), (n, c, side, side), "img"
        return None

    def mlp_loop(self, shape, layout):
        f = shape[-1]
        widths = [self.pick([8, 16, 32]) for _ in range(self.draw(st.integers(1, 3)))]
        first = self.slot_in(f)
        first.name = None
        self.cname = None
        dims_line = L("dims = [", first, ", " + ", ".join(map(str, widths)) + "]")
        a = self.attr("mlp")
        if self.b():
            init = [dims_line, L(f"self.{a} = nn.ModuleList([nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1)])")]
            fwd = [L(f"for layer in self.{a}:"), L("x = torch.relu(layer(x))", indent=1, targets="x")]
        else:
            init = [dims_line, L("layers = []"), L("for d_in, d_out in zip(dims[:-1], dims[1:]):"),
                    L("layers.append(nn.Linear(d_in, d_out))", indent=1), L("layers.append(nn.ReLU())", indent=1),
                    L(f"self.{a} = nn.Sequential(*layers)")]
            fwd = [L(f"x = self.{a}(x)", targets="x")]
        return Op(init=init, fwd=fwd, layers=2 * len(widths)), shape[:-1] + (widths[-1],), layout

    def conv_loop(self, shape, layout):
        n, c, h, w = shape
        chans = [self.pick([4, 8, 16]) for _ in range(self.draw(st.integers(1, 3)))]
        first = self.slot_in(c)
        first.name = None
        self.cname = None
        a = self.attr("body")
        init = [L("chans = [", first, ", " + ", ".join(map(str, chans)) + "]"), L("blocks = []"),
                L("for cin, cout in zip(chans, chans[1:]):"),
                L("blocks.append(nn.Conv2d(cin, cout, kernel_size=3, padding=1))", indent=1),
                L("blocks.append(nn.ReLU(inplace=True))", indent=1),
                L(f"self.{a} = nn.Sequential(*blocks)")]
        return Op(init=init, fwd=[L(f"x = self.{a}(x)", targets="x")], layers=2 * len(chans)), (n, chans[-1], h, w), layout

    def helper_block(self, shape, layout):
        n, c, h, w = shape
        cout = self.pick([4, 8, 16])
        name = "_block"
        if name not in self.helpers:
            bn = self.b()
            body = [L("def _block(self, cin, cout):"), L("return nn.Sequential(", indent=1),
                    L("nn.Conv2d(cin, cout, 3, padding=1),", indent=2)]
            if bn:
                body.append(L("nn.BatchNorm2d(cout),", indent=2))
            body += [L("nn.ReLU(),", indent=2), L(")", indent=1)]
            self.helpers[name] = body
        cin = self.slot_in(c)
        a = self.attr("block")
        op = Op(init=[L(f"self.{a} = self._block(", cin, f", {self.out_dim(cout)})")], fwd=[L(f"x = self.{a}(x)", targets="x")], layers=2)
        return op, (n, cout, h, w), layout

    OPS = {
        "img": [("conv2d", 6), ("convt2d", 1), ("pool2d", 3), ("adaptive", 1), ("bn", 3), ("act", 3), ("layernorm", 1),
                ("residual_conv", 1), ("branches", 1), ("conv_loop", 1), ("helper_block", 1),
                ("flatten", 2), ("spatial_mean", 1), ("squeeze_gap", 1), ("to_seq", 1)],
        "ncl": [("conv1d", 5), ("bn", 2), ("act", 2), ("swap", 2), ("seq_mean", 1), ("flatten", 1)],
        "nlc": [("linear", 4), ("layernorm", 2), ("rnn", 3), ("act", 1), ("swap", 1), ("seq_mean", 1),
                ("residual_linear", 1), ("unsqueeze", 1), ("branches", 1), ("mlp_loop", 1)],
        "flat": [("linear", 6), ("bn", 2), ("act", 3), ("branches", 1), ("mlp_loop", 1), ("residual_linear", 1),
                 ("unsqueeze", 1), ("unflatten", 1)],
    }

    last_factors: Optional[list] = None

    def step(self, shape, layout):
        names, weights = zip(*self.OPS[layout])
        pool = [n for n, w in zip(names, weights) for _ in range(w)]
        for _ in range(6):
            name = self.pick(pool)
            got = getattr(self, name)(shape, layout)
            if got is not None:
                if name == "flatten":
                    self.last_factors = list(shape[1:])
                elif name != "act":
                    self.last_factors = None
                return got
        return self.act(shape, layout)


# Constructs kept out of generation because of a known shapels issue (each with a strict-xfail
# regression test in test_program_regressions.py). None at the moment.
EXCLUDE_BUG_BEFORE_FANOUT = False


def _too_big(shape) -> bool:
    return math.prod(shape) > 200_000 or any(d > 4096 for d in shape)


@st.composite
def programs(draw) -> Program:
    g = Gen(draw)
    # -- the input ---------------------------------------------------------------------------------
    kind = draw(st.sampled_from(["img", "img", "img", "ncl", "nlc", "flat", "tokens"]))
    n = draw(st.sampled_from([1, 2, 2, 3, 4]))
    input_slots = []
    first_ops = []
    if kind == "img":
        c, h, w = draw(st.sampled_from([1, 3, 3, 4])), draw(st.integers(4, 20)), draw(st.integers(4, 20))
        shape, layout = (n, c, h, w), "img"
    elif kind == "ncl":
        shape, layout = (n, draw(st.sampled_from([2, 4, 6])), draw(st.integers(4, 24))), "ncl"
    elif kind == "nlc":
        shape, layout = (n, draw(st.integers(2, 10)), draw(st.sampled_from([4, 6, 8, 16]))), "nlc"
    elif kind == "flat":
        shape, layout = (n, draw(st.sampled_from([4, 10, 16, 20, 32]))), "flat"
    else:
        vocab, length, dim = draw(st.sampled_from([10, 20, 50])), draw(st.integers(2, 10)), draw(st.sampled_from([4, 8, 16]))
        shape, layout = (n, length), "tokens"
    input_shape = shape
    if kind == "tokens":
        big = draw(st.booleans())
        emb = Op(init=[L("self.embed = nn.Embedding(", str(vocab + (5 if big else 0)), f", {dim})")],
                 fwd=[L("x = self.embed(x)", targets="x")], layers=1)
        first_ops.append(emb)
        shape, layout = (n, length, dim), "nlc"
    else:
        # the input's channel/feature dim may be wrong (a wrong argument in the driver)
        idx = 1 if layout in ("img", "ncl") else len(shape) - 1
        input_slots = [Slot(d, "input") for d in shape]
        input_slots[idx].kind = "input-channels"
        g.slots.append(input_slots[idx])
        # the first layer's in-dim may come from a constructor parameter
        if draw(st.booleans()):
            pname = "in_channels" if layout in ("img", "ncl") else draw(st.sampled_from(["in_features", "input_dim", "in_dim"]))
            mode = draw(st.sampled_from(["default", "driver", "driver_kw", "required"]))
            dv = Slot(shape[idx], "in")
            g.slots.append(dv)
            g.params.append((pname, dv if mode == "default" else (draw(st.sampled_from([1, 3, 8])) if mode != "required" else None),
                             dv if mode != "default" else None))
            g.cname = pname

    # -- the layers --------------------------------------------------------------------------------
    target = draw(st.integers(2, 8))
    ops = list(first_ops)
    count = sum(o.layers for o in ops)
    guard = 0
    while count < target and guard < 30:
        guard += 1
        saved = (g.cname, list(g.params), g.last_factors)
        g.op_index = len(ops)
        op, new_shape, new_layout = g.step(shape, layout)
        if _too_big(new_shape) or min(new_shape) < 1:
            g.cname, g.params, g.last_factors = saved
            continue
        ops.append(op)
        count += op.layers
        shape, layout = new_shape, new_layout
    # a classifier head now and then
    if layout == "flat" and draw(st.booleans()):
        classes = draw(st.sampled_from([2, 5, 10]))
        cin = g.slot_in(shape[-1])
        g.cname = None
        if draw(st.booleans()) and all(p[0] != "num_classes" for p in g.params):
            g.params.append(("num_classes", classes, None))
            ops.append(g.simple("head", ["nn.Linear(", cin, ", num_classes)"]))
        else:
            ops.append(g.simple("head", ["nn.Linear(", cin, f", {classes})"]))
        shape = shape[:-1] + (classes,)

    # -- sometimes group a run of simple ops into an nn.Sequential ------------------------------------
    if draw(st.booleans()):
        runs, cur = [], []
        for i, op in enumerate(ops):
            if op.simple is not None:
                cur.append(i)
            else:
                if len(cur) >= 2:
                    runs.append(cur)
                cur = []
        if len(cur) >= 2:
            runs.append(cur)
        if runs:
            run = draw(st.sampled_from(runs))
            name = draw(st.sampled_from(["features", "encoder", "stem", "net", "layers"]))
            init = [L(f"self.{name} = nn.Sequential(")] + [L(*op.simple[1], ",", indent=1) for op in (ops[i] for i in run)] + [L(")")]
            seq = Op(init=init, fwd=[L(f"x = self.{name}(x)", targets="x")], layers=sum(ops[i].layers for i in run))
            ops = ops[: run[0]] + [seq] + ops[run[-1] + 1:]

    # -- the bug --------------------------------------------------------------------------------------
    bug = None
    candidates = [s for s in g.slots if s.kind in ("in", "view", "input-channels")]
    if EXCLUDE_BUG_BEFORE_FANOUT and g.fanouts:
        # A wrong input or view size upstream of two branches makes both branches fail; shapels reports
        # both as errors though torch stops at the first (see test_program_regressions.py). Excluded
        # until that is decided/fixed.
        candidates = [s for s in candidates if (s.kind == "in" and s.order >= 0) or s.order >= max(g.fanouts)]
    # slots rendered as a shared parameter name are not independent: change them by writing a literal
    if candidates and g.b(0.55):
        s = draw(st.sampled_from(candidates))
        delta = draw(st.sampled_from([-2, -1, 1, 1, 2, 3, 8, "double", "half"]))
        if s.factors and len(s.factors) > 1 and draw(st.booleans()):
            i = draw(st.integers(0, len(s.factors) - 1))
            wf = list(s.factors)
            wf[i] = max(1, wf[i] + draw(st.sampled_from([-1, 1, 2])))
            if math.prod(wf) != s.value:
                s.wrong_factors = wf
                bug = f"{s.kind} {s.render()} (should be {s.value})"
        else:
            new = s.value * 2 if delta == "double" else s.value // 2 if delta == "half" else s.value + delta
            if new < 1 or new == s.value:
                new = s.value + 1
            s.wrong = new
            bug = f"{s.kind} {new} (should be {s.value})"

    # -- render ---------------------------------------------------------------------------------------
    lines: list = []  # (indent, Line)
    lines += [(0, L("import torch")), (0, L("import torch.nn as nn"))]
    if g.uses_F:
        lines.append((0, L("import torch.nn.functional as F")))
    lines += [(0, L("")), (0, L("")), (0, L("class Net(nn.Module):"))]
    # required parameters must come first
    req = [p for p in g.params if p[1] is None]
    opt = [p for p in g.params if p[1] is not None]
    sig = ["def __init__(self"]
    for pname, default, _ in req + opt:
        sig += [f", {pname}"] + (["=", default if isinstance(default, Slot) else str(default)] if default is not None else [])
    sig.append("):")
    lines.append((1, L(*sig)))
    lines.append((2, L("super().__init__()" if draw(st.booleans()) else "super(Net, self).__init__()")))
    for op in ops:
        for ln in op.init:
            lines.append((2 + ln.indent, ln))
    for body in g.helpers.values():
        lines.append((0, L("")))
        for ln in body:
            lines.append((1 + ln.indent, ln))
    lines.append((0, L("")))
    lines.append((1, L("def forward(self, x):")))
    for op in ops:
        for ln in op.fwd:
            lines.append((2 + ln.indent, ln))
    lines.append((2, L("return x")))
    lines += [(0, L("")), (0, L(""))]
    guard_main = draw(st.booleans())
    base = 1 if guard_main else 0
    if guard_main:
        lines.append((0, L('if __name__ == "__main__":')))
    call = []
    driver = [p for p in req + opt if p[2] is not None]
    positional = draw(st.booleans())
    for i, (pname, _, value) in enumerate(driver):
        if i:
            call.append(", ")
        # positional only while the order matches the signature
        if positional and [p[0] for p in (req + opt)][: len(driver)] == [p[0] for p in driver]:
            call.append(value if isinstance(value, Slot) else str(value))
        else:
            call += [f"{pname}=", value if isinstance(value, Slot) else str(value)]
    lines.append((base, L("model = Net(", *call, ")")))
    if draw(st.booleans()):
        lines.append((base, L("model.eval()")))
    elif n == 1:
        lines.append((base, L("model.eval()")))  # BatchNorm needs more than one value per channel in training
    if kind == "tokens":
        lines.append((base, L(f"x = torch.randint(0, {vocab}, ({n}, {input_shape[1]}))")))
    else:
        pieces = ["x = torch.randn("]
        for i, s in enumerate(input_slots):
            pieces += ([", "] if i else []) + [s]
        pieces.append(")")
        lines.append((base, L(*pieces)))
    lines.append((base, L("out = model(x)")))
    if draw(st.booleans()):
        lines.append((base, L("print(out.shape)")))

    src, inst, bug_line = [], [], None
    for i, (indent, ln) in enumerate(lines, 1):
        text = "    " * indent + ln.render() if ln.render() else ""
        src.append(text)
        inst.append(text + "".join(f"; _rec({t!r}, {t})" for t in ln.targets))
        if any(isinstance(p, Slot) and (p.wrong is not None or p.wrong_factors is not None) for p in ln.pieces):
            bug_line = i
    if bug is not None and bug_line is None:
        bug = None  # the slot was not rendered (cannot happen, but never claim a bug that is not there)
    return Program("\n".join(src) + "\n", "\n".join(inst) + "\n", bug_line, bug, count)
