"""functools' caches on user functions: `@functools.lru_cache` and `@functools.cache` kept as Python keeps them.

A function so decorated returns, for arguments equal to an earlier call's, the very object that call
returned, and its body does not run again: what the first call did (appending to a module's list,
loading a module) happens once. transformers' `is_*_available()` helpers are such functions, asked
thousands of times while a modeling file's imports run; answering them from the cache is both what
Python does and most of what those calls cost.

Where the analysis cannot be sure that Python answers from its cache, the call runs, as every call did
before: a call run again is never wrong, only slower. So an earlier result is given back only when
- the arguments are known Python constants (str, int, float, bool, None, tuples of them), keyed as
  functools keys them (`_python_key`); never symbols: two equal sympy symbols are equal ints within one
  run, but the same name may stand for different values in two runs (each class's own `in_channels`);
- the earlier call certainly ran and returned: it was made on every path (`Frame.surely_reached`), outside
  a loop's probe, and it returned on some path (functools keeps nothing of a call that raises; a path
  that raises ends the program here, so the calls after it are made where it did not). What it returned
  is kept even where unknown: it is the object Python gives back, whatever it is;
- it left nothing the analysis shows and nothing that depended on where it was made: no finding (not even
  one deduplicated away, nor an assertion a symbolic run keeps quiet about), no name or layer call or run
  recorded, no first error, no view merging the batch, no call that the depth or recursion limits cut
  short. Running the call again would have reported nothing new either then, in this run or another;
- no eviction can have happened: a bounded cache (`lru_cache()`'s 128 entries) is trusted only while it
  cannot have been asked for more distinct keys than it holds, counting calls made on some paths only
  and calls with unknown arguments (any of which may have been a new key);
- the analysis is not a fix trial, which watches the arguments and calls a re-analysis runs through.

What Python caches is the function object a `def` makes: one per module-level (or class-level)
function, one per run of a nested `def`. The caches are the Interpreter's, so they last one analysis:
another file, or the language server's next analysis of the same text, starts with none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst

from shapels.analysis.frame import Frame
from shapels.analysis.library_names import canonical
from shapels.analysis.modtable import dotted_name
from shapels.analysis.objects import ModuleRef, UserFunction
from shapels.analysis.python_values import MISSING_VALUE, plain
from shapels.values import Const, FunctionRef, Number, Seq, Value

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp


@dataclass(frozen=True, eq=False)
class CacheDecorator(Value):
    """What `functools.lru_cache(maxsize, typed)` returns: the decorator that gives a function its cache."""

    maxsize: Optional[int]  # None: unbounded; 0: no cache at all, as functools has it
    typed: bool  # 1 and 1.0 are different keys


LRU_CACHE = "functools.lru_cache"
# The decorators written bare, `@functools.cache` and `@lru_cache`, as their defaults make them.
BARE_DECORATORS = {"functools.cache": CacheDecorator(None, False), LRU_CACHE: CacheDecorator(128, False)}
# The last part of a decorator's name that may be one of them: only these are resolved (a lookup in the
# function's scope), so a function decorated otherwise (`@torch.no_grad()`) costs one test of a name.
_NAMES = {name.rsplit(".", 1)[-1] for name in BARE_DECORATORS}


def lru_cache_call(args: list, kwargs: dict) -> Optional[CacheDecorator]:
    """`lru_cache(maxsize=128, typed=False)` of known arguments: the decorator it makes; None for anything
    else, `lru_cache(function)` applied in an expression included (not followed: its result is unknown)."""
    if len(args) > 2 or set(kwargs) - {"maxsize", "typed"}:
        return None
    given = dict(zip(("maxsize", "typed"), args))
    if set(given) & set(kwargs):
        return None
    given.update(kwargs)
    maxsize = plain(given["maxsize"]) if "maxsize" in given else 128
    typed = plain(given["typed"]) if "typed" in given else False
    if maxsize is not None and type(maxsize) not in (int, bool) or type(typed) not in (bool, int):
        return None  # a function (the expression form), or a value not known
    if maxsize is not None:
        maxsize = max(0, int(maxsize))  # functools: a negative size is 0
    return CacheDecorator(maxsize, bool(typed))


class FunctionCaches:
    """The caches of one analysis's decorated functions, as functools keeps them on the function objects."""

    def __init__(self) -> None:
        # id(FunctionDef) -> (node, whether a decorator's name may be a cache's): kept with the node, so that
        # its id is not reused while the entry lives
        self._named: dict = {}
        # what Python's cache belongs to (`_definition`) -> its _Cache, or None: decorated otherwise
        self._caches: dict = {}

    def of(self, interp: Interp, function: UserFunction) -> Optional[_Cache]:
        """The cache a call of `function` (not a method call: no receiver) goes through; None for most."""
        node = function.node
        if type(node) is not cst.FunctionDef or not node.decorators:
            return None
        named = self._named.get(id(node))
        if named is None:
            named = self._named[id(node)] = (node, any(_may_name_a_cache(d.decorator) for d in node.decorators))
        if not named[1] or interp.trial.arguments or interp.trial.calls:
            return None
        definition = _definition(function)
        # (a nested def's function is named by id, and a _Cache keeps it alive; one decorated otherwise is
        # not kept, and a later function given its id is taken for undecorated too: its calls just run)
        if definition not in self._caches:
            decorator = _cache_decorator(interp, function)
            use = decorator is not None and decorator.maxsize != 0
            self._caches[definition] = _Cache(decorator, function) if use else None
        return self._caches[definition]


def _definition(function: UserFunction):
    """What a function's cache belongs to. A nested `def` makes a function object each time it runs, and
    so does exec_def here: the object. A module's or class's function is made once, but the linker and
    attribute lookups build a UserFunction each time it is named: its node where it is defined (a parsed
    module is shared by files of the same text: the scope tells them apart)."""
    if function.closure is not None:
        return id(function)
    return id(function.scope), id(function.owner), id(function.node)


def _may_name_a_cache(expression: cst.BaseExpression) -> bool:
    callee = expression.func if type(expression) is cst.Call else expression
    name = dotted_name(callee)
    return name is not None and name.rsplit(".", 1)[-1] in _NAMES


def _cache_decorator(interp: Interp, function: UserFunction) -> Optional[CacheDecorator]:
    """The functools cache among `function`'s decorators, looked up where the function is defined; None
    where there is none, or more than one (caches stacked are not followed). The other decorators are
    taken to pass the call through, as the interpreter takes every decorator it does not model."""
    scope = function.scope or (function.owner.scope if function.owner is not None else None)
    frame = Frame(function.node, function.closure if function.closure is not None else {}, scope=scope)
    found = [d for d in (_decorator_value(interp, d.decorator, frame) for d in function.node.decorators
                         if _may_name_a_cache(d.decorator)) if d is not None]
    return found[0] if len(found) == 1 else None


def _decorator_value(interp: Interp, expression: cst.BaseExpression, frame: Frame) -> Optional[CacheDecorator]:
    """A decorator's value, where it is a cache's. Only what evaluates without running the program's code
    is evaluated: a name, a library's or module's attribute, and lru_cache's call of constants and names.
    Python evaluates a decorator once, where the `def` runs; this reads it at the function's first call."""
    call = expression if type(expression) is cst.Call else None
    callee = call.func if call is not None else expression
    if type(callee) is cst.Attribute:
        head = callee.value
        while type(head) is cst.Attribute:
            head = head.value
        if type(interp.eval(head, frame)) not in (FunctionRef, ModuleRef):
            return None  # an object's attribute may be a property: code of the program
    value = interp.eval(callee, frame)
    if type(value) is not FunctionRef:
        return None
    qualname = canonical(value.qualname)
    if call is None:
        return BARE_DECORATORS.get(qualname)
    if qualname != LRU_CACHE or not all(_constant_or_name(arg) for arg in call.args):
        return None
    made = interp.eval(call, frame)  # library.py's handler of functools.lru_cache
    return made if type(made) is CacheDecorator else None


def _constant_or_name(arg: cst.Arg) -> bool:
    value = arg.value
    if type(value) is cst.UnaryOperation:
        value = value.expression
    return not arg.star and type(value) in (cst.Integer, cst.Name)


class _Cache:
    """One function object's cache: the results Python certainly holds, by key."""

    def __init__(self, decorator: CacheDecorator, function: UserFunction) -> None:
        self.decorator = decorator
        self.function = function  # keeps what `_definition` named by id alive as long as the cache
        self.results: dict = {}
        # For a bounded cache: the keys it may have been asked to store, and how many calls of unknown
        # arguments may each have stored one more. Past its size, nothing it holds is certain any more.
        self._asked: set = set()
        self._unknown_keys = 0
        self._trusted = True

    def call(self, interp: Interp, args: list, kwargs: dict, frame: Frame,
             run: Callable[[], Optional[Value]]) -> Optional[Value]:
        """The call's result: the one cached where Python certainly has it, else `run()`'s, kept where
        certain; None where the call never returns (it raises: functools keeps nothing)."""
        key = _python_key(args, kwargs, self.decorator.typed) if self._trusted else None
        if key is not None:
            found = self.results.get(key)
            if found is not None:
                return found
        before = what_calls_leave(interp)
        result = run()
        if self.decorator.maxsize is not None and self._trusted:
            self._count(key)
        if key is not None and self._trusted and frame.surely_reached and not interp.silenced \
                and result is not None and what_calls_leave(interp) == before:
            if self.decorator.maxsize is None:
                self.results[key] = result
            else:  # a recursive call of the same key stored its result first: a bounded cache keeps that one
                self.results.setdefault(key, result)
        return result

    def _count(self, key) -> None:
        if key is None:
            self._unknown_keys += 1
        else:
            self._asked.add(key)
        if len(self._asked) + self._unknown_keys > self.decorator.maxsize:
            self._trusted = False  # functools may have evicted any of them
            self.results.clear()


def what_calls_leave(interp: Interp) -> tuple:
    """What a call may leave that the analysis shows or that depends on where it was made (module
    docstring): equal before and after a call that left none of it. By id: the recorder is another one only
    in default_runs' runs, the first error changes from None to where it is (both live on the interpreter)."""
    return (id(interp.recorder), interp.recorder.told, id(interp.first_error), len(interp.trial.batch_merges),
            interp.calls_cut_short)


_KEY_TYPES = (str, int, float, bool, type(None), bytes)
_KEYWORDS = object()  # between a key's positional and keyword parts, as functools' own marker: equal to no argument


def _python_key(args: list, kwargs: dict, typed: bool):
    """The key functools.lru_cache makes of the call's arguments (its _make_key), of the Python values they
    stand for; None unless every one is a known constant that Python hashes by value."""
    if typed and not all(type(v) is Const for v in list(args) + list(kwargs.values())):
        return None  # keyed by type too: a Number may be a float or numpy's, a Seq a torch.Size, not told apart
    values = tuple(_key_value(a) for a in args)
    named = tuple((name, _key_value(v)) for name, v in kwargs.items())
    if any(v is MISSING_VALUE for v in values) or any(v is MISSING_VALUE for _, v in named):
        return None
    key = values
    if named:
        key += (_KEYWORDS,) + tuple(part for item in named for part in item)
    if typed:
        key += tuple(type(v) for v in values) + tuple(type(v) for _, v in named)
    elif len(key) == 1 and type(key[0]) in (int, str):
        return key[0]  # functools' fast path: one int or str is its own key (1 and (1,) differ, as there)
    return ("arguments", key)


def _key_value(value: Value):
    """The Python value an argument stands for, where functools would hash it by value; else MISSING_VALUE.
    A known Number is taken for the Python int it is everywhere in the analysis (numpy's ints, not told
    apart, would miss functools' one-int fast path, nothing else)."""
    python = plain(value) if type(value) in (Const, Number, Seq) else MISSING_VALUE  # a symbol: MISSING_VALUE
    return python if _hashed_by_value(python) else MISSING_VALUE


def _hashed_by_value(python) -> bool:
    if type(python) is tuple:
        return all(_hashed_by_value(item) for item in python)
    if type(python) is float:
        return python == python  # NaN: equal to itself only as the same object, which is not followed
    return type(python) in _KEY_TYPES
