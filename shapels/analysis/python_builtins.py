"""The Python builtins and small library helpers model code leans on: len, range, isinstance,
min/max/round, str formatting, copy, numpy.linspace; and turning known values back into Python."""


from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Optional

import libcst as cst
from shapels.analysis import argparse_values, membership
from shapels.analysis.attribute_writes import MODULE_ATTRIBUTES, may_be_written
from shapels.analysis.attributes import get_attribute
from shapels.analysis.containers import register_submodule
from shapels.analysis.env import unanimous
from shapels.analysis.library_names import canonical
from shapels.analysis.modtable import MODULE_BASES
from shapels.analysis.objects import (
    BoundUserMethod,
    Builtin,
    ClassRef,
    Instance,
    Partial,
    SuperRef,
    UserFunction,
)
from shapels.rules import registry as rule_registry
from shapels.analysis.data_values import LoaderValue, data_span, enumerated
from shapels.analysis.python_values import MISSING_VALUE, IteratorValue, RangeValue, dict_key, plain, python_number
from shapels.analysis.semantics import iterate, truth
from shapels.rules.base import from_python, to_dim
from shapels.symbolic import dims as D
from shapels.values import (
    NONE,
    UNKNOWN,
    Alternatives,
    BoundMethod,
    Const,
    DictValue,
    FunctionRef,
    Layer,
    ListValue,
    Number,
    Seq,
    SetValue,
    Tensor,
    Unknown,
    Value,
)

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp


def sorted_list(items: Optional[list], reverse: Optional[bool]) -> Value:
    """sorted() of known ints or of strings (RegNet sorts a set of widths)."""
    values = [plain(i) for i in items] if items is not None and reverse is not None else None
    if values is None or MISSING_VALUE in values:
        return UNKNOWN
    if not (all(isinstance(v, int) and not isinstance(v, bool) for v in values) or all(isinstance(v, str) for v in values)):
        return UNKNOWN
    return ListValue([from_python(v) for v in sorted(values, reverse=reverse)])


def call_builtin(interp: Interp, name: str, args: list, kwargs: dict, frame: Frame, node) -> Value:
    if args and type(args[0]) is argparse_values.Namespace and name in ("vars", "getattr", "setattr", "hasattr"):
        result = argparse_values.builtin(name, args, frame)
        if result is not None:
            return result
    if name == "super":
        self_value = frame.env.get("self")
        if isinstance(self_value, Instance) and frame.owner is not None:
            return SuperRef(self_value, frame.owner)
        return UNKNOWN
    if name == "callable" and len(args) == 1 and not kwargs:
        verdict = unanimous(is_callable(option) for option in
                            (args[0].options if isinstance(args[0], Alternatives) else (args[0],)))
        return Const(verdict) if verdict is not None else UNKNOWN
    if name == "filter" and len(args) == 2 and not kwargs:
        return filtered(interp, args[0], args[1], frame, node)
    if name == "iter" and len(args) == 1 and not kwargs and isinstance(args[0], LoaderValue):
        return args[0]  # `next(iter(loader))`: one batch
    if name == "next" and len(args) == 1 and not kwargs and isinstance(args[0], LoaderValue):
        return args[0].item if args[0].nonempty else UNKNOWN
    if name == "enumerate" and args and isinstance(args[0], LoaderValue) and len(args) + len(kwargs) <= 2 \
            and set(kwargs) <= {"start"}:
        return enumerated(args[0])  # `enumerate(loader, 1)`: the index is not known either way
    if name == "iter" and len(args) == 1 and not kwargs:
        items = iterate(args[0])
        return IteratorValue(list(items)) if items is not None else UNKNOWN
    if name == "next" and 1 <= len(args) <= 2 and not kwargs and isinstance(args[0], IteratorValue):
        return next_item(args[0], args[1] if len(args) == 2 else None, frame)
    if name == "locals" and not args and not kwargs:
        return local_names(frame)
    if name == "len" and len(args) == 1:
        if isinstance(args[0], Tensor):
            d = args[0].shape.dim(0)
            return Number(d) if d is not None else UNKNOWN
        if isinstance(args[0], SetValue):
            sized = args[0].sized and not args[0].uncertain
            return Number(int(len(args[0].items))) if sized else UNKNOWN
        if isinstance(args[0], Const) and isinstance(args[0].value, str):
            return Number(int(len(args[0].value)))
        items = iterate(args[0])
        return Number(int(len(items))) if items is not None else UNKNOWN
    if name in ("any", "all") and len(args) == 1 and not kwargs:
        items = iterate(args[0])
        if items is None:
            return UNKNOWN
        verdicts = [truth(i) for i in items]
        decisive = name == "any"  # any() stops at a true item, all() at a false one
        if decisive in verdicts:
            return Const(decisive)
        return Const(not decisive) if None not in verdicts else UNKNOWN
    if name == "range":
        ints = [D.as_int(to_dim(a)) for a in args]
        if not args or any(i is None for i in ints) or len(ints) > 3:
            return data_span(args, kwargs, node)
        start, stop, step = (0, ints[0], 1) if len(ints) == 1 else (ints[0], ints[1], ints[2] if len(ints) == 3 else 1)
        return RangeValue(start, stop, step) if step != 0 else UNKNOWN
    if name in ("list", "tuple") and len(args) == 1:
        items = iterate(args[0])
        if items is None:
            return UNKNOWN
        return ListValue(items) if name == "list" else Seq(tuple(items))
    if name in ("set", "frozenset") and len(args) <= 1 and not kwargs:
        return membership.make_set(iterate(args[0]) if args else [])
    if name in ("list", "tuple") and not args:
        return ListValue([]) if name == "list" else Seq(())
    if name == "dict":
        return dict_from(args, kwargs)
    if name == "enumerate" and args:
        items = iterate(args[0])
        return ListValue([Seq((Number(int(i)), v)) for i, v in enumerate(items)]) if items is not None else UNKNOWN
    if name == "zip":
        seqs = [iterate(a) for a in args]
        if any(s is None for s in seqs):
            return UNKNOWN
        return ListValue([Seq(tuple(group)) for group in zip(*seqs)])
    if name == "map" and len(args) >= 2 and not kwargs:
        # map(lambda t: rearrange(t, 'b n (h d) -> b h n d', h=h), qkv): each item through the function,
        # as a comprehension is followed; `q, k, v = map(...)` unpacks the result
        columns = [iterate(a) for a in args[1:]]
        if any(c is None for c in columns):
            return UNKNOWN
        rows = list(zip(*columns))
        if len(rows) > 256:
            return UNKNOWN
        return Seq(tuple(interp.call(args[0], list(row), {}, frame, node) for row in rows))
    if name == "reversed" and args:
        items = iterate(args[0])
        return ListValue(list(reversed(items))) if items is not None else UNKNOWN
    if name == "sorted" and len(args) == 1 and set(kwargs) <= {"reverse"}:
        return sorted_list(iterate(args[0]), truth(kwargs["reverse"]) if "reverse" in kwargs else False)
    if name == "int" and len(args) == 1 and isinstance(args[0], Number):
        v = args[0].value
        if isinstance(v, float):
            return Number(int(v))
        if D.is_integer_valued(v):
            return Number(D.const(v))
        sympy = D.sympy_module()  # a symbolic non-integer (a quotient): sympy is loaded already

        return Number(D.const(sympy.floor(v)))
    if name in ("int", "float") and len(args) == 1 and isinstance(args[0], Const) \
            and isinstance(args[0].value, (str, bool)) and len(str(args[0].value)) <= 100:
        try:
            return from_python(int(args[0].value) if name == "int" else float(args[0].value))  # int('3')
        except ValueError:
            return UNKNOWN  # Python raises: not our finding
    if name == "float" and len(args) == 1 and isinstance(args[0], Number):
        return Number(float(args[0].value)) if D.as_int(args[0].value) is not None or isinstance(args[0].value, float) else UNKNOWN
    if name == "sum" and 1 <= len(args) <= 2 and not kwargs:
        total = tensor_sum(interp, args, frame, node)
        if total is not None:
            return total
    if name in ("min", "max", "sum") and not kwargs:  # max(xs, key=...), sum(xs, start=...): not followed
        items = args if len(args) > 1 else (iterate(args[0]) if args else None)
        if not items or not all(isinstance(i, Number) for i in items):
            return UNKNOWN
        values = [plain(i) for i in items]
        if MISSING_VALUE in values:  # symbolic: only a sum of ints stays exact
            if name == "sum" and not any(isinstance(i.value, float) for i in items):
                return Number(D.dim_sum([i.value for i in items]))
            return UNKNOWN
        return python_number({"min": min, "max": max, "sum": sum}[name](values))
    if name == "round" and args and isinstance(args[0], Number):
        if not isinstance(args[0].value, float) and len(args) == 1:
            return args[0]  # an int rounds to itself, symbolic or not
        value = plain(args[0])
        digits = plain(args[1]) if len(args) > 1 else None
        if value is MISSING_VALUE or digits is MISSING_VALUE:
            return UNKNOWN
        return python_number(round(value, digits) if digits is not None else round(value))
    if name == "abs" and len(args) == 1 and isinstance(args[0], Number):
        return Number(abs(args[0].value))
    if name == "bool" and len(args) == 1:
        t = truth(args[0])
        return Const(t) if t is not None else UNKNOWN
    if name == "isinstance" and len(args) == 2:
        options = args[0].options if isinstance(args[0], Alternatives) else (args[0],)
        verdict = unanimous(is_instance(option, args[1]) for option in options)
        return Const(verdict) if verdict is not None else UNKNOWN
    if name == "print":
        return NONE
    if name == "str" and len(args) == 1 and plain(args[0]) is not MISSING_VALUE:
        return Const(str(plain(args[0])))
    if name == "getattr" and len(args) >= 2 and isinstance(args[1], Const) and isinstance(args[1].value, str):
        value = get_attribute(interp, args[0], args[1].value, frame)
        if isinstance(value, Unknown) and len(args) == 3:
            return args[2]
        return value
    if name == "type" and len(args) == 1 and not kwargs and isinstance(args[0], Instance) and not args[0].opaque:
        return ClassRef(args[0].info)
    if name == "setattr" and len(args) == 3 and isinstance(args[0], Instance):
        if not isinstance(args[1], Const):
            args[0].opaque = True
            return NONE
        register_submodule(args[0], str(args[1].value), args[2], frame.certain, frame.surely_reached)
        return NONE
    if name == "hasattr" and len(args) == 2 and isinstance(args[0], Instance) and isinstance(args[1], Const) \
            and isinstance(args[1].value, str):
        return has_attribute(interp, args[0], args[1].value)
    return UNKNOWN


def filtered(interp: Interp, keep: Value, iterable: Value, frame: Frame, node) -> Value:
    """`filter(fn, items)` (`filter(None, items)`: the truthy ones), an iterator: x-transformers counts its
    layers with `len(list(filter(equals('a'), layer_types)))`. Unknown where an item's verdict is."""
    items = iterate(iterable)
    if items is None or len(items) > 256:
        return UNKNOWN
    kept = []
    for item in items:
        verdict = truth(item if keep is NONE else interp.call(keep, [item], {}, frame, node))
        if verdict is None:
            return UNKNOWN
        if verdict:
            kept.append(item)
    return IteratorValue(kept)


def next_item(iterator: IteratorValue, default: Optional[Value], frame: Frame) -> Value:
    """`next(it)` / `next(it, default)`: the next item, or the default once they are used up (without one,
    Python's StopIteration, not followed). On a path that may not run the position becomes unknown."""
    if iterator.uncertain:
        return UNKNOWN
    if not frame.certain:
        iterator.uncertain = True
        return UNKNOWN
    if iterator.position < len(iterator.items):
        iterator.position += 1
        return iterator.items[iterator.position - 1]
    return default if default is not None else UNKNOWN


def local_names(frame: Frame) -> Value:
    """`locals()` in a function: its names bound so far, by name (`kwargs = dict(locals())` at the top of a
    constructor, then filtered by prefix). At module level it is the globals, not followed."""
    if not isinstance(frame.unit, (cst.FunctionDef, cst.Lambda)):
        return UNKNOWN
    return DictValue({name: value for name, value in frame.env.items() if isinstance(name, str) and isinstance(value, Value)})


def tensor_sum(interp: Interp, args: list, frame: Frame, node) -> Optional[Value]:
    """`sum([fn(x) for fn in self.fns])` over tensors: Python's `start + t1 + t2 ...` (start 0), each `+`
    torch's broadcasting add. None when no item is a tensor (numbers are summed as numbers) or the items
    are not known."""
    items = iterate(args[0])
    if not items or len(items) > 256 or not any(isinstance(i, Tensor) for i in items):
        return None
    total = args[1] if len(args) == 2 else Number(0)
    for item in items:
        total = interp.binary("Add", total, item, frame, node)
    return total


def has_attribute(interp: Interp, instance: Instance, name: str) -> Value:
    """`hasattr(self, 'shortcut')`: True where it was set on every path so far (or the class gives it),
    False where no code shapels read could ever set it, else unknown."""
    info = instance.info
    if instance.opaque:
        return UNKNOWN
    if name in instance.attrs:
        return UNKNOWN if name in instance.maybe_absent else Const(True)
    if info.find_method(name) is not None or info.find_attribute(name) is not None \
            or info.is_module and name in MODULE_ATTRIBUTES:
        return Const(True)
    classes = [info] + info.mro_after(info)
    if name.startswith("_") or instance.base_layer is not None or any(_unknown_bases(c) for c in classes):
        return UNKNOWN  # dunders, a torch layer's own attributes, a base shapels did not read
    if any(name in (f for f, _ in c.fields) or "__getattr__" in c.methods or "__getattribute__" in c.methods
           for c in classes):
        return UNKNOWN
    # The same question again (a transformers model's constructor asks ~8 names for each of the file's
    # ~5 models, over the ~50 files read) has the same answer while no other file is read: one look
    # through the files per question, not per call (3% of such a file's analysis).
    key = (name, tuple(c.name for c in classes), interp.linker.files_read())
    written = interp.written_attributes.get(key)
    if written is None:
        written = interp.written_attributes[key] = may_be_written(name, classes, interp.linker.sources())
    return UNKNOWN if written else Const(False)


def _unknown_bases(info) -> bool:
    """A base that is neither a class shapels read nor nn.Module/object: it may give any attribute."""
    read = {b.name for b in info.bases}
    return any(base not in MODULE_BASES and base not in ("object", "abc.ABC", "typing.Generic") and base.rsplit(".", 1)[-1] not in read
               for base in info.base_names)


_SEQUENCE_TYPES = {"collections.abc.Sequence", "typing.Sequence", "collections.abc.Iterable", "typing.Iterable",
                   "collections.abc.Collection"}


_DATA = (Tensor, Layer, Instance, Number, Const, Seq, ListValue, DictValue)


def is_callable(value: Value) -> Optional[bool]:
    """`callable(d)` in lucidrains' `default(val, d)` (`d() if callable(d) else d`): numbers, strings, None,
    tuples, lists, dicts and tensors are not; functions, classes, partials, modules and torch layers
    are; an instance of a plain class is when it defines `__call__`; anything else is unknown."""
    if isinstance(value, (Number, Const, Seq, ListValue, DictValue, SetValue, Tensor)):
        return False
    if isinstance(value, (Layer, Builtin, BoundMethod)) or _callable_kind(value) is not None:
        return True
    if isinstance(value, Instance):
        if value.info.is_module or value.info.find_method("__call__"):
            return True
        return None
    return None


def _callable_kind(value: Value) -> Optional[str]:
    """"class", "function" or "partial" for a value that is certainly one: a user class or function, a
    partial, or a torch name that a rule models (a layer rule's name is a class); else None. An
    unresolved name (FunctionRef without a rule) may be anything, even an int."""
    if isinstance(value, ClassRef):
        return "class"
    if isinstance(value, (UserFunction, BoundUserMethod)):
        return "function"
    if isinstance(value, Partial):
        return "partial"
    if isinstance(value, FunctionRef):
        rule = rule_registry.lookup(canonical(value.qualname))
        if rule is not None:
            return "class" if rule.is_layer else "function"
    return None


def is_instance(value: Value, kind: Value) -> Optional[bool]:
    """`isinstance` for the types model code tests (int, tuple, Sequence, Tensor, nn.Module, type,
    functools.partial: timm's get_norm_layer asks the last two of a layer class)."""
    if isinstance(kind, Seq):
        verdicts = [is_instance(value, k) for k in kind.items]
        return True if True in verdicts else (False if all(v is False for v in verdicts) else None)
    if isinstance(value, (Unknown, BoundMethod)):
        return None
    callable_kind = _callable_kind(value)
    if isinstance(kind, Builtin) and kind.name == "type":
        if callable_kind is not None:
            return callable_kind == "class"
        return False if isinstance(value, _DATA) else None
    if isinstance(kind, Builtin):
        if callable_kind is not None:
            return False  # a class or function is no int, str, tuple, ...
        python = plain(value)
        if kind.name in ("int", "float", "str", "bool", "tuple", "list", "dict"):
            if isinstance(value, Number) and not isinstance(value.value, float) and python is MISSING_VALUE:
                return kind.name == "int"  # a symbolic int is still an int
            if isinstance(value, ListValue):
                return kind.name == "list"
            if isinstance(value, DictValue):
                return kind.name == "dict"
            if python is MISSING_VALUE:
                return None if not isinstance(value, (Tensor, Layer, Instance)) else False
            return isinstance(python, {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple,
                                       "list": list, "dict": dict}[kind.name])
        return None
    if isinstance(kind, FunctionRef):
        q = canonical(kind.qualname)
        if q in _SEQUENCE_TYPES:
            if isinstance(value, (Seq, ListValue)) or (isinstance(value, Const) and isinstance(value.value, str)):
                return True
            if callable_kind in ("function", "partial") or (
                    callable_kind == "class" and (not isinstance(value, ClassRef) or value.info.is_module)):
                return False  # a module class has no iterating metaclass (an Enum class would)
            return False if isinstance(value, (Number, Tensor, Layer, Instance)) or value is NONE else None
        if q == "functools.partial":
            if callable_kind is not None:
                return callable_kind == "partial"
            return False if isinstance(value, _DATA) else None
        if q in ("types.FunctionType", "types.LambdaType"):
            if isinstance(value, UserFunction):
                return True
            if callable_kind in ("class", "partial"):
                return False
            return False if isinstance(value, _DATA + (ClassRef, BoundUserMethod)) else None
        if q == "torch.Tensor":
            return isinstance(value, Tensor) if not isinstance(value, Unknown) else None
        if q == "torch.nn.Module":
            return isinstance(value, (Layer, Instance)) and (not isinstance(value, Instance) or value.info.is_module)
        if q.startswith("torch.nn.") and isinstance(value, Layer):
            return value.kind == q
        return None
    if isinstance(kind, ClassRef) and isinstance(value, Instance):
        return kind.info is value.info or kind.info in value.info.mro_after(value.info)
    return None




def dict_from(args: list, kwargs: dict) -> Value:
    """`dict(...)` / `OrderedDict(...)`: of keywords, of another dict, or of (key, value) pairs
    (`dict(zip(names, values))`), then the keywords on top. Keys must be known constants."""
    if len(args) > 1:
        return UNKNOWN
    items: dict = {}
    if args and isinstance(args[0], DictValue):
        items.update(args[0].items)
    elif args:
        pairs = iterate(args[0]) if not (isinstance(args[0], ListValue) and args[0].uncertain) else None
        if pairs is None:
            return UNKNOWN
        for pair in pairs:
            if not isinstance(pair, (Seq, ListValue)) or len(pair.items) != 2 \
                    or dict_key(pair.items[0]) is MISSING_VALUE:
                return UNKNOWN
            items[dict_key(pair.items[0])] = pair.items[1]
    items.update(kwargs)
    return DictValue(items)


def numpy_sequence(qualname: str, args: list, kwargs: dict) -> Value:
    """np.linspace / np.arange with a known count, as a list: model code loops over them (drop-path
    rates per block), so the length matters and the values rarely do."""
    values = [plain(a) for a in args]
    if MISSING_VALUE in values[2:3] or not values:
        return UNKNOWN
    if qualname == "numpy.linspace":
        count = values[2] if len(values) > 2 else plain(kwargs.get("num", Number(50)))
        if not isinstance(count, int) or count < 0 or count > 4096:
            return UNKNOWN
        if MISSING_VALUE in values[:2]:
            return ListValue([UNKNOWN] * count)
        start, stop = values[0], values[1]
        step = (stop - start) / (count - 1) if count > 1 else 0.0
        return ListValue([Number(float(start + i * step)) for i in range(count)])
    if MISSING_VALUE in values or not all(isinstance(v, (int, float)) for v in values):
        return UNKNOWN
    items = list(range(*values)) if all(isinstance(v, numbers.Integral) for v in values) else None
    return ListValue([Number(int(i)) for i in items]) if items is not None and len(items) <= 4096 else UNKNOWN


def repeated(item: Value, times: Value) -> Value:
    """itertools.repeat(x, n) with a known n, as the tuple its consumers build (to_2tuple's
    `tuple(repeat(x, 2))`)."""
    count = plain(times)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 4096:
        return UNKNOWN
    return Seq((item,) * count)


def copy_value(value: Value) -> Value:
    """copy.copy / copy.deepcopy of a config object or collection: a new container, same members."""
    if isinstance(value, Instance):
        clone = Instance(value.info, dict(value.attrs), value.loc, None, dict(value.init_args))
        clone.opaque, clone.training, clone.base_layer = value.opaque, value.training, value.base_layer
        clone.members_uncertain, clone.maybe_absent = value.members_uncertain, set(value.maybe_absent)
        return clone
    if isinstance(value, ListValue):
        return ListValue(list(value.items), value.uncertain)
    if isinstance(value, DictValue):
        return DictValue(dict(value.items))
    if isinstance(value, (Seq, Const, Number, Tensor, Layer, ClassRef, FunctionRef)):
        return value  # immutable for our purposes (a copied layer has the same configuration)
    return UNKNOWN


def string_method(receiver: Const, name: str, args: list, kwargs: dict) -> Value:
    values = [plain(a) for a in args]
    named = {k: plain(v) for k, v in kwargs.items()}
    if MISSING_VALUE in values or MISSING_VALUE in named.values():
        return UNKNOWN
    if name not in STRING_METHODS:
        return UNKNOWN
    try:
        result = getattr(receiver.value, name)(*values, **named)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError):
        return UNKNOWN
    if isinstance(result, list) and all(isinstance(r, str) for r in result):  # split, rsplit, splitlines
        return ListValue([Const(r) for r in result])
    if isinstance(result, tuple) and all(isinstance(r, str) for r in result):  # partition, rpartition
        return Seq(tuple(Const(r) for r in result))
    return from_python(result) if isinstance(result, (str, bool, int)) else UNKNOWN


# str methods that only read the string (format's arguments are plain values by then)
STRING_METHODS = {
    "format", "upper", "lower", "casefold", "title", "capitalize", "swapcase", "replace", "strip", "lstrip",
    "rstrip", "removeprefix", "removesuffix", "join", "startswith", "endswith", "split", "rsplit", "splitlines",
    "partition", "rpartition", "count", "find", "rfind", "index", "rindex", "isdigit", "isnumeric",
    "isdecimal", "isalpha", "isalnum", "isidentifier", "islower", "isupper", "isspace",
}  # not zfill/center/ljust/rjust: a width from the analysed code could ask for gigabytes
