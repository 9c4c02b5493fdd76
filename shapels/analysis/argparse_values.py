"""argparse as a library model: the values a script's options take when it runs with no arguments.

`parser = argparse.ArgumentParser()`, `parser.add_argument('--imageSize', type=int, default=64)`, then
`opt = parser.parse_args()`: `opt.imageSize` is 64. What argparse itself does with an empty command line,
reproduced: the dest is `dest=`, else the first long option (else the first short one) without its prefix,
`-` made `_`; the value is the default (`store_true`: False, `store_false`: True, others None), a string
default converted by `type` (argparse converts only a string default; `type=int, default=0.5` stays 0.5);
`set_defaults` and `parents=` as argparse applies them; `vars(opt)` and `opt.__dict__` are the namespace's
own dict. `Options.args` (`[tool.shapels.args]`) gives by dest what the command line gives, as argparse would
after `type`. An option the command line must give otherwise (a positional, `required=True`) is unknown, and so is the
whole namespace where the parser did something this model does not follow (subparsers, a
`conflict_handler`, a required mutually exclusive group, a call whose arguments are not known, a method
it does not know). `sys.argv` read by hand is not modelled: it stays unknown.

A mutation on a path that may not run leaves what it touched unknown (its old value joined with the new).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from shapels.analysis.env import join
from shapels.rules.base import from_python
from shapels.values import NONE, UNKNOWN, Const, DictValue, FunctionRef, ListValue, Seq, Unknown, Value

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp

CONSTRUCTORS = ("argparse.ArgumentParser", "argparse.Namespace")
SUPPRESS = "argparse.SUPPRESS"

_NO_DEST = ("help", "version")
_DEFAULTS = {"store_true": Const(False), "store_false": Const(True)}
_KNOWN_ACTIONS = ("store", "store_const", "store_true", "store_false", "append", "append_const", "extend", "count",
                  "argparse.BooleanOptionalAction")
# Methods that print or format and change nothing shapels reads.
_HARMLESS = ("print_help", "print_usage", "format_help", "format_usage")


@dataclass(eq=False)
class Action:
    dest: str
    default: Value
    type: Optional[Value]  # the `type=` callable, None where not given
    given: bool  # the command line must give it (a positional, required=True): its value is unknown
    convert: bool = True  # argparse converts a string default with `type`


@dataclass(eq=False)
class ArgParser(Value):
    actions: list = field(default_factory=list)
    defaults: dict = field(default_factory=dict)  # set_defaults: dest -> Value
    prefix_chars: str = "-"
    argument_default: Value = NONE
    opaque: bool = False  # it did something not followed: what it parses is unknown


@dataclass(eq=False)
class ParserMethod(Value):
    """`parser.add_argument` before it is called."""

    parser: ArgParser
    name: str


@dataclass(eq=False)
class Namespace(Value):
    """What parse_args gives: its attributes are `values` (the dict `vars()` returns)."""

    values: DictValue
    complete: bool = True  # no attribute was written that shapels could not read (hasattr can say False)
    maybe_absent: set = field(default_factory=set)  # set only on a path that may not run


# -- constructing --------------------------------------------------------------------------------
def construct(qualname: str, args: list, kwargs: dict) -> Value:
    if qualname == "argparse.Namespace":
        return Namespace(DictValue(dict(kwargs))) if not args else UNKNOWN
    parser = ArgParser()
    prefix = kwargs.get("prefix_chars")
    if prefix is not None:
        if isinstance(prefix, Const) and isinstance(prefix.value, str) and prefix.value:
            parser.prefix_chars = prefix.value
        else:
            parser.opaque = True
    if "argument_default" in kwargs:
        parser.argument_default = kwargs["argument_default"]
    handler = kwargs.get("conflict_handler")
    if handler is not None and not (isinstance(handler, Const) and handler.value == "error"):
        parser.opaque = True  # 'resolve' removes earlier options: not followed
    parents = kwargs.get("parents")
    if parents is not None:
        items = parents.items if isinstance(parents, (ListValue, Seq)) else None
        if items is None or not all(type(p) is ArgParser for p in items):
            parser.opaque = True
        else:
            for p in items:  # argparse copies each parent's actions and defaults
                parser.actions.extend(p.actions)
                parser.defaults.update(p.defaults)
                parser.opaque = parser.opaque or p.opaque
    if len(args) > 1:
        parser.opaque = True  # positional parent/formatter arguments: not followed
    return parser


# -- attributes ----------------------------------------------------------------------------------
def parser_attribute(interp: Interp, base: ArgParser, name: str, frame) -> Value:
    return ParserMethod(base, name)


def namespace_attribute(interp: Interp, base: Namespace, name: str, frame) -> Value:
    if name == "__dict__":
        base.complete = False  # the dict may now be written under names shapels does not read
        return base.values
    return base.values.items.get(name, UNKNOWN)


def set_attribute(namespace: Namespace, name: str, value: Value, certain: bool) -> None:
    """`opt.cuda = ...` (and setattr): on a path that may not run, the old value joined with the new."""
    items = namespace.values.items
    if certain:
        items[name] = value
        namespace.maybe_absent.discard(name)
        return
    if name in items:
        items[name] = join(items[name], value)
    else:
        items[name] = UNKNOWN
        namespace.maybe_absent.add(name)


def builtin(name: str, args: list, frame) -> Optional[Value]:
    """vars/getattr/setattr/hasattr of a namespace; None where the builtin is called otherwise."""
    namespace = args[0]
    if name == "vars" and len(args) == 1:
        namespace.complete = False
        return namespace.values
    key = args[1].value if len(args) > 1 and isinstance(args[1], Const) and isinstance(args[1].value, str) else None
    if name == "setattr" and len(args) == 3:
        if key is None:
            namespace.values.items.clear()  # which attribute it wrote is not known: trust none
            namespace.complete = False
        else:
            set_attribute(namespace, key, args[2], frame.certain)
        return NONE
    if name in ("getattr", "hasattr") and key is not None and len(args) == (2 if name == "hasattr" else 3):
        items = namespace.values.items
        if key in items and key not in namespace.maybe_absent:
            return Const(True) if name == "hasattr" else items[key]
        if key not in items and namespace.complete:
            return Const(False) if name == "hasattr" else args[2]
        return UNKNOWN
    return None


# -- the parser's methods ------------------------------------------------------------------------
def call_method(interp: Interp, method: ParserMethod, args: list, kwargs: dict, frame, node) -> Value:
    parser, name = method.parser, method.name
    if name == "add_argument":
        _add_argument(parser, args, kwargs, frame.certain)
        return UNKNOWN  # the Action object: not followed
    if name == "add_argument_group" or name == "add_mutually_exclusive_group":
        required = kwargs.get("required", Const(False))
        if name == "add_mutually_exclusive_group" and not (isinstance(required, Const) and required.value is False):
            parser.opaque = True  # a required group: the script exits without its options
        return parser  # a group adds its arguments (and defaults) to the parser itself
    if name == "set_defaults" and not args:
        for dest, value in kwargs.items():
            value = value if frame.certain else UNKNOWN
            parser.defaults[dest] = value
            for action in parser.actions:
                if action.dest == dest:
                    action.default = value
        return NONE
    if name == "get_default" and len(args) == 1 and isinstance(args[0], Const) and not parser.opaque:
        for action in parser.actions:
            if action.dest == args[0].value and not _is_none(action.default):
                return action.default
        return parser.defaults.get(args[0].value, NONE)
    if name in ("parse_args", "parse_known_args", "parse_intermixed_args", "parse_known_intermixed_args"):
        argv = args[0] if args else kwargs.get("args", NONE)
        empty = _is_none(argv) or isinstance(argv, (ListValue, Seq)) and not argv.items
        if parser.opaque or not empty or len(args) > 1 or set(kwargs) - {"args"}:
            return UNKNOWN
        namespace = _parse(interp, parser, frame, node)
        return Seq((namespace, ListValue([]))) if "known" in name else namespace
    if name in _HARMLESS:
        return UNKNOWN
    parser.opaque = True  # add_subparsers, register, error, ...: not followed
    return UNKNOWN


def unknown_call(method: ParserMethod) -> None:
    """A method called with `*args`/`**kwargs` shapels could not read: what it added is unknown."""
    if method.name not in _HARMLESS:
        method.parser.opaque = True


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None


def _dest(parser: ArgParser, flags: list, kwargs: dict) -> tuple:
    """(dest, positional), or (None, _) where it cannot be read."""
    chars = parser.prefix_chars
    if "dest" in kwargs:
        dest = kwargs["dest"]
        readable = isinstance(dest, Const) and isinstance(dest.value, str)
        return (dest.value if readable else None), bool(flags) and flags[0][:1] not in chars
    if len(flags) == 1 and flags[0][:1] not in chars:
        return flags[0], True
    long_options = [f for f in flags if len(f) > 1 and f[1] in chars]
    dest = (long_options or flags)[0].lstrip(chars).replace("-", "_")
    return (dest or None), False


def _add_argument(parser: ArgParser, args: list, kwargs: dict, certain: bool) -> None:
    if not args or not all(isinstance(a, Const) and isinstance(a.value, str) and a.value for a in args):
        parser.opaque = True
        return
    flags = [a.value for a in args]
    dest, positional = _dest(parser, flags, kwargs)
    if dest is None:
        parser.opaque = True
        return
    action = kwargs.get("action", Const("store"))
    action_name = action.value if isinstance(action, Const) else getattr(action, "qualname", None)
    if action_name in _NO_DEST:
        return
    nargs = kwargs.get("nargs")
    required = kwargs.get("required", Const(False))
    given = positional and not (isinstance(nargs, Const) and nargs.value == "?") \
        or not (isinstance(required, Const) and required.value is False)
    if "default" in kwargs:
        default = kwargs["default"]
    elif dest in parser.defaults:
        default = parser.defaults[dest]
    elif not _is_none(parser.argument_default):
        default = parser.argument_default
    else:
        default = _DEFAULTS.get(action_name, NONE)
    if action_name not in _KNOWN_ACTIONS:
        default = UNKNOWN  # a custom Action class: not followed
    if not certain:
        default = UNKNOWN  # added on a path that may not run
    parser.actions.append(Action(dest, default, kwargs.get("type"), given))


def _parse(interp: Interp, parser: ArgParser, frame, node) -> Namespace:
    values: dict = {}
    for action in parser.actions:
        if action.dest in values:
            continue  # argparse sets each dest once, from the first action that has it
        if action.dest in interp.command_line:  # given on the command line, as the configuration says
            values[action.dest] = from_python(interp.command_line[action.dest])
            continue
        default = action.default
        if isinstance(default, FunctionRef) and default.qualname == SUPPRESS:
            continue  # no attribute unless given
        if action.given:
            values[action.dest] = UNKNOWN
            continue
        if isinstance(default, Const) and isinstance(default.value, str) and action.type is not None:
            converted = interp.call(action.type, [default], {}, frame, node)
            default = UNKNOWN if isinstance(converted, Unknown) else converted
        values[action.dest] = default
    for dest, value in parser.defaults.items():
        values.setdefault(dest, value)
    return Namespace(DictValue(values))
