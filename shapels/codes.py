"""One catalogue of diagnostic codes (mypy's errorcodes.py style): each code is a constant defined here.

A finding or a rule failure names its code by the constant (`call.fail(LINEAR_IN_FEATURES, ...)`), never
by its slug, so a misspelt code fails at import (and in ruff's check) instead of reaching a user. The
README's table and the LSP's codeDescription links are generated from this catalogue, in this order.
tests/test_codes.py checks that no module under shapels/ spells a slug itself.
"""

from __future__ import annotations

README_URL = "https://github.com/shapels/shapels/blob/main/README.md"


class Code(str):
    """A diagnostic code. It is its slug (a str), so a finding's code prints, compares, hashes and
    serialises exactly as the slug did; it also carries what the README says about it."""

    __slots__ = ("summary", "example")

    def __new__(cls, slug: str, summary: str, example: str) -> Code:
        code = super().__new__(cls, slug)
        code.summary = summary
        code.example = example
        return code

    @property
    def slug(self) -> str:
        return str(self)

    @property
    def href(self) -> str:
        return f"{README_URL}#{self.slug}"

    def __reduce__(self):
        return get, (str(self),)  # unpickled as the catalogue's own constant (parallel checks, caches)


CODES: dict[str, Code] = {}  # slug -> Code, in the README's order


def _code(slug: str, summary: str, example: str) -> Code:
    if slug in CODES:
        raise ValueError(f"diagnostic code {slug!r} is defined twice")
    code = CODES[slug] = Code(slug, summary, example)
    return code


LINEAR_IN_FEATURES = _code(
    "linear-in-features",
    "The last dim arriving at a Linear layer differs from its in_features.",
    "nn.Linear(1024, 128) fed (1, 5120): set in_features to 5120",
)
BILINEAR_IN_FEATURES = _code(
    "bilinear-in-features",
    "An input of a Bilinear layer does not match in1_features/in2_features.",
    "nn.Bilinear(20, 30, 40) fed (8, 20) and (8, 31)",
)
CONV_IN_CHANNELS = _code(
    "conv-in-channels",
    "The channel dim arriving at a convolution differs from its in_channels.",
    "nn.Conv2d(16, 32, 3) fed (1, 10, 32, 32): set in_channels to 10",
)
CONV_INPUT_RANK = _code(
    "conv-input-rank",
    "A convolution or pooling layer gets a tensor of the wrong rank.",
    "nn.Conv2d(3, 8, 3) fed (3, 32): needs 3-D or 4-D input",
)
CONV_KERNEL_TOO_LARGE = _code(
    "conv-kernel-too-large",
    "The (padded) input is smaller than the kernel, so the output would be empty.",
    "nn.Conv2d(3, 8, 7) fed (1, 3, 4, 4)",
)
POOL_OUTPUT_EMPTY = _code(
    "pool-output-empty",
    "A pooling layer would produce an empty output.",
    "nn.MaxPool2d(4) fed (1, 3, 2, 2)",
)
POOL_PADDING = _code(
    "pool-padding",
    "Pooling padding larger than half the kernel.",
    "nn.MaxPool2d(2, padding=2)",
)
NORM_NUM_FEATURES = _code(
    "norm-num-features",
    "The channel dim arriving at a normalisation layer differs from its num_features.",
    "nn.BatchNorm2d(32) fed (1, 16, 8, 8): set num_features to 16",
)
NORM_INPUT_RANK = _code(
    "norm-input-rank",
    "A normalisation layer gets a tensor of the wrong rank.",
    "nn.BatchNorm2d(16) fed (16, 8)",
)
LAYERNORM_SHAPE = _code(
    "layernorm-shape",
    "The trailing dims do not match a LayerNorm's normalized_shape.",
    "nn.LayerNorm(512) fed (1, 10, 256)",
)
GROUPNORM_GROUPS = _code(
    "groupnorm-groups",
    "GroupNorm's num_channels is not divisible by num_groups, or differs from the input.",
    "nn.GroupNorm(3, 16)",
)
INPUT_DTYPE = _code(
    "input-dtype",
    "A layer with floating-point weights (Linear, convolution, norm, RNN, attention) gets an "
    "integer or bool tensor.",
    "nn.Linear(4, 2) fed torch.tensor([[1, 2, 3, 4]]), an int64 tensor",
)
LAYER_INPUT_RANK = _code(
    "layer-input-rank",
    "A Keras layer gets a tensor of a rank its input spec refuses (Keras: `expected "
    "min_ndim=2, found ndim=1`): a Dense needs a batch axis and a features axis, a RepeatVector exactly (batch, "
    "features), a Permute the batch and one axis per entry of its pattern.",
    "keras.layers.Dense(10) fed tf.random.normal((64,)): make it (1, 64)",
)
UNDEFINED_DIM = _code(
    "undefined-dim",
    "A Keras layer builds a weight from an input axis whose size is None: Keras needs that "
    "axis defined when the layer is built (`keras.Input(shape=(None, 32))` into an LSTM builds; `(32, None)` does "
    "not).",
    "keras.layers.Dense(10) fed keras.Input(shape=(None,)): give the features axis a size",
)
EMBEDDING_INPUT = _code(
    "embedding-input",
    "An Embedding layer gets a non-integer tensor or an index known to be out of range.",
    "nn.Embedding(10, 4) fed torch.randn(2, 3)",
)
RNN_INPUT_SIZE = _code(
    "rnn-input-size",
    "The feature dim arriving at an RNN/LSTM/GRU differs from its input_size.",
    "nn.LSTM(128, 64) fed (4, 10, 100): set input_size to 100",
)
RNN_INPUT_RANK = _code(
    "rnn-input-rank",
    "A recurrent layer gets a tensor that is not 2-D or 3-D.",
    "nn.GRU(8, 8) fed (1, 2, 3, 8)",
)
ATTENTION_EMBED_DIM = _code(
    "attention-embed-dim",
    "The query/key/value dims do not match a MultiheadAttention's embed_dim/kdim/vdim.",
    "nn.MultiheadAttention(512, 8) fed a (10, 2, 256) query",
)
ATTENTION_HEADS = _code(
    "attention-heads",
    "embed_dim is not divisible by num_heads.",
    "nn.MultiheadAttention(100, 3)",
)
VIEW_INVALID_SHAPE = _code(
    "view-invalid-shape",
    "A view/reshape asks for a shape whose size differs from the tensor's.",
    "x of (1, 81920) .view(1, 20, 32, 32), which holds 20480",
)
VIEW_STRIDE = _code(
    "view-stride",
    "A view needs a copy: the tensor's memory layout (after a transpose or permute) does "
    "not let its dims merge or split in place. `.reshape(...)` or `.contiguous().view(...)` copies.",
    "x of (1, 2, 2) .transpose(1, 2).view(1, 4)",
)
FLATTEN_DIMS = _code(
    "flatten-dims",
    "flatten/unflatten dims out of range or sizes that do not multiply up.",
    "nn.Unflatten(1, (2, 5)) fed (4, 12)",
)
DIM_OUT_OF_RANGE = _code(
    "dim-out-of-range",
    "A dim argument is outside the tensor's rank.",
    "x of (2, 3) .transpose(0, 2)",
)
BROADCAST_MISMATCH = _code(
    "broadcast-mismatch",
    "Two shapes cannot be broadcast together in an elementwise operation.",
    "(4, 5) + (4, 3)",
)
MATMUL_MISMATCH = _code(
    "matmul-mismatch",
    "The inner dims of a matrix product differ.",
    "(2, 3) @ (4, 5)",
)
CAT_MISMATCH = _code(
    "cat-mismatch",
    "torch.cat/stack inputs differ outside the concatenation dim.",
    "torch.cat([(2, 3), (2, 4)], dim=0)",
)
EXPAND_MISMATCH = _code(
    "expand-mismatch",
    "expand/repeat asks for a shape the tensor cannot take.",
    "x of (2, 3) .expand(4, 4)",
)
SPLIT_MISMATCH = _code(
    "split-mismatch",
    "split/chunk sizes do not add up to the dim.",
    "x of (2, 10) .split([3, 3], dim=1)",
)
OP_INPUT_SHAPE = _code(
    "op-input-shape",
    "An op gets a tensor whose rank or sizes it cannot take.",
    "F.pad(x of (2,), (1, 1, 1, 1)); nn.PixelShuffle(2) fed (1, 6, 4, 4)",
)
CALL_MISMATCH = _code(
    "call-mismatch",
    "A layer is called with the wrong number or kind of tensors.",
    "nn.Bilinear called with one tensor",
)
UNPACK_MISMATCH = _code(
    "unpack-mismatch",
    "A split, chunk or unbind gives another number of tensors than the names they are "
    "unpacked into: Python raises ValueError.",
    "q, k, v = x.split(256, dim=2) for x of (1, 8, 1024)",
)
TENSOR_INDEX = _code(
    "tensor-index",
    "An index is out of range for the tensor's dim it selects, or a subscript has more indices "
    "than the tensor has dims: torch raises IndexError.",
    "x[:, 5] for x of (2, 3)",
)
INPUT_SHAPE = _code(
    "input-shape",
    "The model's input is not shaped as the model was built for: no batch dim, channels-last, "
    "transposed, or an image size its layers do not fit. The fix rewrites the sizes where the input is made.",
    "x = torch.randn(1, 28, 28) into a Conv2d(1, 32, 3) model: make it (1, 1, 28, 28)",
)
UNUSED_RESULT = _code(
    "unused-result",
    "A tensor op's result is never used: `x.view(...)` returns a new tensor and leaves x as it "
    "was, so a later layer gets the old shape.",
    "x.view(-1, 400) alone on its line: x = x.view(-1, 400)",
)
FLATTEN_BATCH = _code(
    "flatten-batch",
    "A flatten from dim 0 merges the batch into the features.",
    "nn.Flatten(start_dim=0) before a Linear: start_dim=1",
)
MISSING_KEEPDIM = _code(
    "missing-keepdim",
    "A reduction drops the dim that a later broadcast lines up against.",
    "x - x.mean(-1) for x of (8, 10, 16): x.mean(-1, keepdim=True)",
)
MISSING_FLATTEN = _code(
    "missing-flatten",
    "A Linear gets a convolution's feature map unflattened and takes its last axis as the "
    "features.",
    "nn.Linear(400, 120) fed (4, 16, 5, 5): x.flatten(1)",
)
LOSS_TARGET = _code(
    "loss-target",
    "A loss function's input and target do not fit: BCE's target of another size than its input, "
    "CrossEntropy/NLL class indices whose batch or rank does not match the scores (or that are not int64), MSE/L1 "
    "shapes that cannot broadcast, a class weight of another length, `backward()` of a loss with more than one "
    "element.",
    "nn.CrossEntropyLoss() fed (8, 10) scores and (4,) targets",
)
ASSERT_FAILS = _code(
    "assert-fails",
    "An `assert` (or `torch._assert`) on sizes is false for the inputs in play: Python raises AssertionError. "
    "Reported only where the assertion compares known ints (a shape's dims, a layer's sizes). The same for a "
    "size check written as `if <condition>: raise ...` whose condition is true.",
    "assert x.shape[-1] == self.dim for x of (2, 10, 48) and dim 64",
)
SHAPE_CONDITION = _code(
    "shape-condition",
    "Information: the model runs only if a condition on symbolic dims holds.",
    "holds only if L*512 = 1024",
)
ANALYSIS_BUDGET = _code(
    "analysis-budget",
    "Information: the analysis stopped at its time budget; results are partial.",
    "a 10,000-layer Sequential",
)
ANALYSIS_INTERNAL_ERROR = _code(
    "analysis-internal-error",
    "Information: shapels failed on one statement or class (a bug in shapels); "
    "the rest of the file is analysed.",
    "an unexpected exception in a class's run",
)
UNRESOLVED_IMPORT = _code(
    "unresolved-import",
    "Information: an import that gives a class its base could not be resolved (the module "
    "was not found in the workspace or the environment), so the class was not analysed as a module. One note "
    "per file, at the first such import.",
    "class VanillaVAE(BaseVAE) after from models import BaseVAE, with no models package found",
)
SYNTAX_ERROR = _code(
    "syntax-error",
    "The file is not valid Python, so it was not analysed; the position is Python's own. "
    "`shapels check` exits 1.",
    "self.fc = nn.Linear(4, 2 on line 7: '(' was never closed",
)
MISSING_INPUT = _code(
    "missing-input",
    "Information: a module's forward got no input shape (no driver calls it, nothing is "
    "configured), so what depends on its input was not checked. Give one with `--input`, `[tool.shapels]` "
    "inputs, a `# shapels: input` comment or a jaxtyping annotation; `check --strict` makes it an error.",
    "class MnistMLP with no driver: --input 'MnistMLP:x=(1, 784)'",
)


def get(slug: str) -> Code:
    return CODES[slug]
