"""Hypothesis generator of small, realistic Keras 3 programs (source text), for differential fuzzing.

A program builds a model `model` in one of the usual ways: a `keras.Sequential` from a list or with
`.add`, its input given by a leading `keras.Input(shape=...)` or `input_shape=` on the first layer; or
a functional `keras.Model(inputs, outputs)` from `keras.Input` through layer calls, sometimes with a
residual `Add` or a `Concatenate` of two branches. The layers come from a catalog of common ones with
realistic arguments (conv, pooling, global pooling, Flatten, Dense, Dropout, normalization, Reshape,
Permute, Embedding, LSTM/GRU, Bidirectional, TimeDistributed(Dense), UpSampling, ZeroPadding,
Cropping, Activation). A driver feeds numpy data (`np.random.rand`, `np.zeros`, integer tokens) to
`model(...)` or `model.predict(...)`, and sometimes compiles and fits it first against targets made for
the loss (sparse categorical, categorical, mse).

The generator tracks the shape (without the batch axis) so that its programs are mostly correct; about
half of them get one wrong argument or wrong data (a kernel larger than the input, a Reshape target of
another size, data of another rank or channel count, targets of another width, branches that no longer
agree). Keras decides what is actually wrong: the generator's intent is only a bias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from hypothesis import strategies as st

HEADER = "import numpy as np\nimport keras\nfrom keras import layers\n\n"
BUGS = ("kernel", "pool", "reshape", "data_rank", "data_channels", "targets", "branch", "dense_rank")


@dataclass
class KerasProgram:
    source: str
    bug: Optional[str]  # the generator's intent, None for a program meant to run
    bug_line: Optional[int]  # the line holding the injected wrong value

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return f"KerasProgram(bug={self.bug!r}, bug_line={self.bug_line})\n{numbered(self.source)}"


def numbered(text: str) -> str:
    return "\n".join(f"{i:3d}  {line}" for i, line in enumerate(text.splitlines(), 1))


def conv_len(n: int, k: int, s: int, same: bool) -> int:
    return -(-n // s) if same else (n - k) // s + 1


def tup(dims) -> str:
    dims = tuple(dims)
    return f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(str(d) for d in dims) + ")"


class KGen:
    """Draws one program. `shape` is the current per-example shape (no batch axis)."""

    def __init__(self, draw):
        self.draw = draw
        self.bug: Optional[str] = draw(st.sampled_from((None,) * len(BUGS) + BUGS))
        self.bug_done = False
        self.wrong_here = False  # the layer text just made holds the bug

    def b(self, p: float = 0.5) -> bool:
        return self.draw(st.floats(0, 1)) < p

    def i(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def want(self, kind: str, p: float = 0.7) -> bool:
        """Inject bug `kind` here (once), when it is the drawn bug."""
        if self.bug == kind and not self.bug_done and self.b(p):
            self.bug_done = True
            self.wrong_here = True
            return True
        return False

    # -- the layer catalog: each returns (text, new shape) or None when it does not fit ------------------
    def layer(self, shape: tuple, last: bool = False):
        rank = len(shape)
        makers = {3: [self.conv, self.conv, self.pool, self.global_pool, self.flatten, self.norm, self.dropout,
                      self.activation, self.upsampling, self.zero_padding, self.cropping, self.reshape, self.permute,
                      self.dense],
                  2: [self.conv, self.pool, self.global_pool, self.rnn, self.rnn, self.bidirectional,
                      self.time_distributed, self.dense, self.flatten, self.norm, self.dropout, self.permute,
                      self.upsampling, self.zero_padding, self.cropping, self.reshape],
                  1: [self.dense, self.dense, self.dropout, self.norm, self.activation, self.reshape]}[rank]
        for _ in range(4):
            made = self.pick(makers)(shape)
            if made is not None:
                return made
        return self.dense(shape) if rank == 1 else self.flatten(shape)

    def conv(self, shape):
        spatial = shape[:-1]
        nd = len(spatial)
        filters = self.pick((4, 8, 16, 32))
        k = self.pick((1, 3, 3, 5))
        s = self.pick((1, 1, 2))
        same = self.b(0.4)
        if not same and min(spatial) < k:
            k = 1
        if self.want("kernel"):
            k, s, same = min(spatial) + self.i(1, 3), 1, False
        out = tuple(conv_len(n, k, s, same) for n in spatial)
        if min(out) < 1:
            return None
        args = [str(filters), str(k) if self.b() else tup((k,) * nd)]
        if s != 1:
            args.append(f"strides={s}")
        if same or self.b(0.3):
            args.append(f'padding="{"same" if same else "valid"}"')
        if self.b(0.5):
            args.append(f'activation="{self.pick(("relu", "tanh", "sigmoid"))}"')
        return f"layers.Conv{nd}D({', '.join(args)})", out + (filters,)

    def pool(self, shape):
        spatial, c = shape[:-1], shape[-1]
        nd = len(spatial)
        kind = self.pick(("Max", "Average"))
        p = self.pick((2, 2, 3))
        s = p if self.b(0.7) else self.pick((1, 2))
        same = self.b(0.3)
        if self.want("pool"):
            p, s, same = min(spatial) + self.i(1, 2), None, False
        stride = p if s is None else s
        out = tuple(conv_len(n, p, stride, same) for n in spatial)
        if not self.wrong_here and min(out) < 1:
            return None
        args = [str(p) if (nd == 1 or self.b()) else tup((p, p))]
        if s is not None and s != p:
            args.append(f"strides={s}")
        if same:
            args.append('padding="same"')
        return f"layers.{kind}Pooling{nd}D({', '.join(args)})", out + (c,)

    def global_pool(self, shape):
        nd = len(shape) - 1
        return f"layers.Global{self.pick(('Average', 'Max'))}Pooling{nd}D()", (shape[-1],)

    def flatten(self, shape):
        return "layers.Flatten()", (math.prod(shape),)

    def dense(self, shape):
        units = self.pick((1, 4, 10, 16, 32, 64))
        act = f', activation="{self.pick(("relu", "softmax", "tanh"))}"' if self.b(0.5) else ""
        return f"layers.Dense({units}{act})", shape[:-1] + (units,)

    def dropout(self, shape):
        return f"layers.Dropout({self.pick((0.1, 0.25, 0.5))})", shape

    def norm(self, shape):
        return (f"layers.{self.pick(('BatchNormalization', 'LayerNormalization'))}()", shape)

    def activation(self, shape):
        return f'layers.Activation("{self.pick(("relu", "sigmoid", "softmax", "gelu"))}")', shape

    def upsampling(self, shape):
        nd = len(shape) - 1
        size = self.pick((2, 2, 3))
        return f"layers.UpSampling{nd}D({size})", tuple(n * size for n in shape[:-1]) + shape[-1:]

    def zero_padding(self, shape):
        nd = len(shape) - 1
        p = self.pick((1, 2))
        return f"layers.ZeroPadding{nd}D({p})", tuple(n + 2 * p for n in shape[:-1]) + shape[-1:]

    def cropping(self, shape):
        nd = len(shape) - 1
        c = self.pick((1, 2))
        if min(shape[:-1]) <= 2 * c:
            return None
        return f"layers.Cropping{nd}D({c})", tuple(n - 2 * c for n in shape[:-1]) + shape[-1:]

    def reshape(self, shape):
        total = math.prod(shape)
        if len(shape) == 3:
            target = (shape[0] * shape[1], shape[2])
        elif len(shape) == 2:
            target = (total,) if self.b() else (shape[1], shape[0])
        else:
            divisors = [d for d in range(2, total) if total % d == 0 and d <= 16]
            if not divisors:
                return None
            d = self.pick(divisors)
            target = (total // d, d)
        if self.want("reshape"):
            target = target[:-1] + (target[-1] + self.pick((-1, 1, 2)),)
            if min(target) < 1:
                target = target[:-1] + (target[-1] + 3,)
        elif self.b(0.3) and len(target) > 1:
            return f"layers.Reshape({tup((-1,) + target[1:])})", target
        return f"layers.Reshape({tup(target)})", target

    def permute(self, shape):
        order = (2, 1) if len(shape) == 2 else self.pick(((2, 1, 3), (1, 3, 2), (3, 1, 2)))
        return f"layers.Permute({tup(order)})", tuple(shape[o - 1] for o in order)

    def rnn(self, shape, wrapped=False):
        units = self.pick((4, 8, 16, 32))
        seq = self.b()
        text = f"layers.{self.pick(('LSTM', 'GRU'))}({units}{', return_sequences=True' if seq else ''})"
        return text, ((shape[0], units) if seq else (units,))

    def bidirectional(self, shape):
        text, out = self.rnn(shape)
        return f"layers.Bidirectional({text})", out[:-1] + (2 * out[-1],)

    def time_distributed(self, shape):
        units = self.pick((4, 8, 16))
        return f"layers.TimeDistributed(layers.Dense({units}))", (shape[0], units)

    # -- the model's input -------------------------------------------------------------------------------
    def input_kind(self):
        kind = self.pick(("image", "image", "sequence", "sequence", "tokens", "flat"))
        if kind == "image":
            return kind, (self.pick((8, 12, 16, 28, 32)), self.pick((8, 12, 16, 28, 32)), self.pick((1, 3)))
        if kind == "sequence":
            return kind, (self.pick((5, 10, 16, 20)), self.pick((3, 8, 16)))
        if kind == "tokens":
            return kind, (self.pick((6, 10, 20)),)
        return kind, (self.pick((4, 12, 20, 64)),)

    def body(self, kind, shape, n):
        """[layer text], final shape; an Embedding first for tokens."""
        texts, start = [], shape
        if kind == "tokens":
            start = shape
            self.vocab = self.pick((50, 100, 1000))
            dim = self.pick((8, 16, 32))
            texts.append(f"layers.Embedding({self.vocab}, {dim})")
            shape = shape + (dim,)
        texts = [(t, False, start) for t in texts]
        for _ in range(n):
            self.wrong_here = False
            before = shape
            text, shape = self.layer(shape)
            texts.append((text, self.wrong_here, before))
        return texts, shape


# -- the programs ----------------------------------------------------------------------------------------
class Writer:
    def __init__(self):
        self.lines: list = []
        self.bug_line: Optional[int] = None

    def add(self, text: str, wrong: bool = False):
        self.lines.append(text)
        if wrong and self.bug_line is None:
            self.bug_line = len(HEADER.splitlines()) + len(self.lines)

    def source(self) -> str:
        return HEADER + "\n".join(self.lines) + "\n"


def head(g: KGen, shape, fit_loss):
    """Layers appended so that a compiled model's output suits the loss: (texts, new shape)."""
    texts = []
    g.wrong_here = False
    if fit_loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        if len(shape) > 1 and not (g.bug == "dense_rank" and g.want("dense_rank")):
            text = g.pick(("layers.Flatten()", f"layers.GlobalAveragePooling{len(shape) - 1}D()"))
            texts.append((text, False, shape))
            shape = (math.prod(shape),) if text.startswith("layers.Flatten") else (shape[-1],)
        classes = g.pick((2, 3, 5, 10))
        texts.append((f'layers.Dense({classes}, activation="softmax")', g.wrong_here, shape))
        return texts, shape[:-1] + (classes,)
    units = g.pick((1, 2, 4))
    if len(shape) > 1 and g.b(0.7):
        texts.append(("layers.Flatten()", False, shape))
        shape = (math.prod(shape),)
    texts.append((f"layers.Dense({units})", False, shape))
    return texts, shape[:-1] + (units,)


def data_shape(g: KGen, shape) -> tuple:
    """The per-example shape of the data fed (the bug: another rank or channel count)."""
    if g.want("data_rank", 1.0):
        if len(shape) > 1 and g.b():
            return shape[:-1] if shape[-1] != 1 else shape[:-2] + shape[-1:]
        return shape + (g.pick((1, 3)),)
    if g.want("data_channels", 1.0):
        return shape[:-1] + (shape[-1] + g.pick((1, 2, -1)) if shape[-1] > 1 else shape[-1] + 2,)
    return shape


def data_text(g: KGen, kind: str, batch: int, dims: tuple) -> str:
    full = (batch,) + tuple(dims)
    if kind == "tokens":
        return f"np.random.randint(0, {g.vocab}, size={tup(full)})"
    if g.b():
        return f"np.random.rand({', '.join(str(d) for d in full)})"
    return f'np.zeros({tup(full)}, "float32")' if g.b() else f"np.zeros({tup(full)})"


def targets_text(g: KGen, loss: str, batch: int, out: tuple) -> str:
    width = out[-1]
    wrong = g.want("targets", 1.0)
    if loss == "sparse_categorical_crossentropy":
        if wrong:
            return f"np.random.randint(0, {width}, size=({batch}, {g.pick((2, 3, width + 1))}))"
        return f"np.random.randint(0, {width}, size=({batch},))"
    if loss == "categorical_crossentropy":
        w = width + g.pick((1, 2, -1)) if wrong and width > 1 else (width + 1 if wrong else width)
        if g.b():
            return f"keras.utils.to_categorical(np.random.randint(0, {w}, size={batch}), {w})"
        return f"np.zeros(({batch}, {w}))"
    w = width + g.pick((1, 2)) if wrong else width
    return f"np.random.rand({batch}, {w})"


@st.composite
def keras_programs(draw) -> KerasProgram:
    g = KGen(draw)
    kind, shape = g.input_kind()
    fit_loss = g.pick((None, None, "sparse_categorical_crossentropy", "categorical_crossentropy", "mse"))
    texts, out = g.body(kind, shape, g.i(1, 5))
    if fit_loss is not None:
        more, out = head(g, out, fit_loss)
        texts += more
    g.final = out
    w = Writer()
    style = g.pick(("list", "list", "add", "functional", "functional", "functional"))
    if style == "functional":
        functional(g, w, kind, shape, texts)
    else:
        sequential(g, w, style, shape, texts)

    batch = g.pick((2, 4, 8))
    if g.bug is not None and not g.bug_done:  # no place for it in the model: wrong data instead
        g.bug = g.pick(("data_rank", "data_channels") + (("targets",) if fit_loss else ()))
    dims = data_shape(g, shape)
    data = data_text(g, kind, batch, dims)
    wrong_data = dims != shape
    if fit_loss is not None:
        w.add(f'model.compile(optimizer="{g.pick(("adam", "sgd", "rmsprop"))}", loss="{fit_loss}")')
        if g.b():
            w.add(f"x = {data}", wrong_data)
            data = "x"
        g.wrong_here = False
        y = targets_text(g, fit_loss, batch, out)
        w.add(f"model.fit({data}, {y}, epochs=1, verbose=0)", wrong_data or g.wrong_here)
        if g.b(0.5):
            w.add(f"out = model({data})")
    else:
        call = "model.predict({}, verbose=0)" if g.b(0.3) else "model({})"
        if g.b():
            w.add(f"x = {data}", wrong_data)
            w.add(f"out = {call.format('x')}")
        else:
            w.add(f"out = {call.format(data)}", wrong_data)
    bug = g.bug if g.bug_done else None
    return KerasProgram(w.source(), bug, w.bug_line if bug else None)


def sequential(g: KGen, w: Writer, style: str, shape, texts) -> None:
    """The model as a Sequential's list or as .add calls: a keras.Input first, or the first layer's
    input_shape=."""
    first_input = g.b(0.6) or len(texts) == 0
    members = [(f"keras.Input(shape={tup(shape)})", False)] if first_input else []
    for n, (text, wrong, _) in enumerate(texts):
        if n == 0 and not first_input:
            text = text[:-1] + (", " if not text.endswith("()") else "") + f"input_shape={tup(shape)})"
        members.append((text, wrong))
    if style == "list":
        w.add("model = keras.Sequential([")
        for text, wrong in members:
            w.add(f"    {text},", wrong)
        w.add("])")
        return
    w.add("model = keras.Sequential()")
    for text, wrong in members:
        w.add(f"model.add({text})", wrong)


def functional(g: KGen, w: Writer, kind: str, shape, texts) -> None:
    dtype = ', dtype="int32"' if kind == "tokens" else ""
    w.add(f"inputs = keras.Input(shape={tup(shape)}{dtype})")
    current = "inputs"
    branch_at = g.i(1 if kind == "tokens" else 0, len(texts)) if g.b(0.5) else None
    for n, (text, wrong, before) in enumerate(texts):
        if n == branch_at:
            current = branches(g, w, current, before)
        w.add(f"x = {text}({current})", wrong)
        current = "x"
    if branch_at == len(texts):
        current = branches(g, w, current, g.final)
    w.add(f"model = keras.Model({'inputs=inputs, outputs=' if g.b(0.3) else 'inputs, '}{current})")


def branch_layer(g: KGen, shape, width: int, strides: int = 1) -> str:
    if len(shape) > 1 and g.b(0.6):
        stride = f", strides={strides}" if strides != 1 else ""
        return f'layers.Conv{len(shape) - 1}D({width}, {g.pick((1, 3))}{stride}, padding="same")'
    return f"layers.Dense({width})"


def branches(g: KGen, w: Writer, current: str, shape) -> str:
    """A residual Add or a Concatenate of two branches that keep `shape` (a Dense, or a conv with
    padding="same"), so that the layers after them still fit; the bug makes the branches disagree."""
    wrong = g.want("branch")
    c = shape[-1]
    if c < 2 or g.b():
        width = c + g.pick((1, 2, -1)) if wrong and c > 1 else (c + 1 if wrong else c)
        w.add(f"y = {branch_layer(g, shape, width)}({current})", wrong)
        if g.b(0.4):
            w.add(f"y = layers.{g.pick(('BatchNormalization', 'LayerNormalization'))}()(y)")
        w.add(f"x = layers.Add()([{current}, y])" if g.b() else f"x = layers.add([{current}, y])")
        return "x"
    first = g.i(1, c - 1)
    second = c - first
    strided = wrong and len(shape) > 1 and max(shape[:-1]) > 1 and g.b(0.7)
    if wrong and not strided:
        second += g.pick((1, 2))
    w.add(f"a = {branch_layer(g, shape, first)}({current})")
    w.add(f"b = {branch_layer(g, shape, second, strides=2 if strided else 1)}({current})", wrong)
    if g.b():
        w.add(f"x = layers.Concatenate({'axis=-1' if g.b() else ''})([a, b])")
    else:
        w.add(f"x = layers.concatenate([a, b]{', axis=-1' if g.b() else ''})")
    return "x"
