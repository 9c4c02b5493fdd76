"""An abstract interpreter for the Python that model code is written in.

One interpreter runs `__init__` (building layers), `forward` (moving shapes) and the driver code at
module level (building the model and calling it), so the same semantics hold everywhere: a layer
built in a loop, a helper method, or a constructor argument from the call site are all just
evaluation. Whatever it cannot follow becomes UNKNOWN, which never produces a diagnostic.
"""

from __future__ import annotations

import ast
import functools
from typing import Optional

import libcst as cst
from shapels.analysis import (argparse_values, attributes, calls, containers, indexing, membership, operators, report,
                              tensor_values)
from shapels.analysis.argument_asserts import arguments_read, call_holding, lift_to_authors, parameters_read
from shapels.analysis.data_values import LoaderValue
from shapels.analysis.env import join, join_all, join_envs
# BudgetExceeded is engine.py's to catch; it imports it from here with Budget and Frame
from shapels.analysis.frame import BREAK, CONTINUE, DEAD, NORMAL, RETURN, Budget, BudgetExceeded, Frame  # noqa: F401
from shapels.analysis.function_caches import FunctionCaches
from shapels.analysis.linker import PENDING, Linker
from shapels.analysis.modtable import add_import
from shapels.analysis.objects import Instance, UserFunction
from shapels.analysis.scopes import Loader, Scope
from shapels.analysis.pure_calls import PureCalls
from shapels.analysis.python_values import MISSING_VALUE, dict_key, plain
from shapels.analysis.recorder import Recorder
from shapels.analysis.semantics import MAX_LOOP, UNBOUND, bind_user_params, compare, iterate, signature, truth
from shapels.analysis.trial_watch import TrialWatch
from shapels.rules import registry as rule_registry
from shapels.symbolic import dims as D
from shapels.values import (
    NONE,
    UNKNOWN,
    Const,
    DictValue,
    Layer,
    ListValue,
    Number,
    Seq,
    SetValue,
    SliceValue,
    Tensor,
    Value,
)

MAX_WHILE_ROUNDS = 32
MAX_DEPTH = 32
MAX_UNCERTAIN_RECURSION = 2  # calls of one function already running, past which an uncertain call is unknown


class Interpreter:
    def __init__(self, main: Scope, recorder: Recorder, budget: Budget, loader: Optional[Loader] = None):
        self.main = main
        self.module = main.module
        self.recorder = recorder
        self.budget = budget
        self.source = "driver"
        self.linker = Linker(main, loader, self)  # the other files read, and what their imports bind
        # id of a FunctionDef node -> how many of its calls are running (by id: libcst's __hash__ is a Python
        # call, and a running call keeps its node alive)
        self._active: dict = {}
        # Calls the depth and recursion limits answered unknown: a result computed where one was cut short
        # depends on where the call was made, and no functools cache keeps it (function_caches.py).
        self.calls_cut_short = 0
        self.caches = FunctionCaches()  # functools caches of the program's functions, for this analysis only
        self.pure_calls = PureCalls()  # results of pure functions' calls on constants (pure_calls.py)
        self.invocations = 0  # user function calls begun: a call that made none may be pure (pure_calls.py)
        self.first_error = None  # where the current execution would stop; reset per execution
        self.silenced = 0  # > 0 inside a loop probe whose findings are dropped
        self.trial = TrialWatch()  # what a fix trial's re-analysis observes (repair.py); nothing by default
        self.command_line: dict = {}  # argparse dest -> Python value the command line gives (Options.args)
        # (attribute name, class names of the MRO, files read) -> whether a file read may write it (hasattr)
        self.written_attributes: dict = {}

    @property
    def globals(self) -> dict:
        return self.main.globals

    # -- what the semantic modules call back (protocol.Interp) ----------------------------------
    def call(self, callee: Value, args: list, kwargs: dict, frame: Frame, node) -> Value:
        return calls.call(self, callee, args, kwargs, frame, node)

    def class_attribute(self, info, name: str) -> Optional[Value]:
        return attributes.class_attribute(self, info, name)

    # -- what the linker calls back (linker.ModuleHost) -------------------------------------------
    def run_imported(self, scope: Scope) -> None:
        """An imported module's top level, the first time the linker loads it. A pending import may be
        first read inside a class's run: the module's top level is not part of that run (records nothing
        into it) and does not count as that run's first error."""
        saved, self.source = self.source, "import"
        saved_error = self.first_error
        self.recorder.begin_unrecorded()
        try:
            for stmt in scope.module.body:
                if not isinstance(stmt, (cst.ClassDef, cst.FunctionDef)) and not is_import_line(stmt):
                    self.exec_stmt(stmt, Frame(stmt, scope.globals, scope=scope))
        except RecursionError:
            pass
        finally:
            self.recorder.end_run(None)
            self.source, self.first_error = saved, saved_error

    def attribute_in(self, value: Value, name: str, scope: Scope) -> Value:
        return attributes.get_attribute(self, value, name, Frame(scope.module, {}, scope=scope))

    # -- statements ----------------------------------------------------------------------------
    def exec_block(self, body, frame: Frame) -> str:
        stmts = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body
        tick = self.budget.tick
        for stmt in stmts:  # each as exec_stmt runs it, without a call of its own: blocks hold most statements
            tick()
            run = _STATEMENTS.get(type(stmt))
            if run is not None:
                status = run(self, stmt, frame)
                if status != NORMAL:
                    return status
        return NORMAL

    def exec_stmt(self, stmt, frame: Frame) -> str:
        """One statement, compound or small (a one-line suite's `if x: return y` holds small ones)."""
        self.budget.tick()
        run = _STATEMENTS.get(type(stmt))  # libcst node classes are never subclassed: exact types
        return run(self, stmt, frame) if run is not None else NORMAL  # class definitions, match, ...

    def exec_simple(self, stmt, frame: Frame) -> str:
        """A line of small statements, each by its runner in _SMALL_STATEMENTS, with no call of its own
        between: most statements are such lines (see eval_Name for what the calls cost)."""
        for small in stmt.body:
            run = _SMALL_STATEMENTS.get(type(small))
            if run is not None:  # pass, del, assert, global, ... do nothing
                status = run(self, small, frame)
                if status != NORMAL:
                    return status
        return NORMAL

    def exec_with(self, stmt: cst.With, frame: Frame) -> str:
        for item in stmt.items:
            value = self.eval(item.item, frame)
            if item.asname is not None:
                self.assign(item.asname.name, UNKNOWN if not isinstance(value, Tensor) else value, frame)
        return self.exec_block(stmt.body, frame)

    def exec_try(self, stmt: cst.Try, frame: Frame) -> str:
        """The body, then its else; handlers run only on exceptions, which shapels does not follow."""
        status = self.exec_block(stmt.body, frame)
        if status == NORMAL and stmt.orelse is not None:
            status = self.exec_block(stmt.orelse.body, frame)
        if stmt.finalbody is not None:
            self.exec_block(stmt.finalbody.body, frame)
        return status

    def exec_def(self, stmt: cst.FunctionDef, frame: Frame) -> str:
        frame.env[stmt.name.value] = UserFunction(stmt, frame.owner, closure=frame.env, scope=frame.scope)
        return NORMAL

    def exec_assert(self, small: cst.Assert, frame: Frame) -> str:
        """`assert h == self.image_size, msg`: certainly false on sizes, Python's AssertionError, and what
        follows does not run; otherwise nothing (its truth not known, or true)."""
        if self.sizes_certainly_fail(small.test, frame):
            message = self.eval(small.msg, frame) if small.msg is not None else None
            said = message.value if isinstance(message, Const) and isinstance(message.value, str) else None
            self.report_assertion(small.test, said, frame)
            return DEAD
        return NORMAL

    def sizes_certainly_fail(self, test: cst.BaseExpression, frame: Frame) -> bool:
        """Whether `test` is a comparison of known ints (or `not`/`and`/`or` of such) that is certainly
        false: an assertion on sizes that fails. Other assertions (isinstance, flags) are not claimed."""
        return _compares_ints(self, test, frame) and self.test_truth(test, frame) is False

    def report_assertion(self, test: cst.BaseExpression, message: Optional[str], frame: Frame) -> None:
        """An assertion on sizes that fails, with what the repair needs: the tensors the function was given
        and, for `a == b`, (a, b): the size the input has and the size asserted."""
        inputs = _tensor_arguments(frame)
        sizes = None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and \
                isinstance(test.comparisons[0].operator, cst.Equal):
            left, right = self.eval(test.left, frame), self.eval(test.comparisons[0].comparator, frame)
            if type(left) is Seq and type(right) is Seq:
                sizes = _first_difference(_known_ints(left), _known_ints(right))
            else:
                sizes = (_known_int(left), _known_int(right))
        if self.source == "symbolic" and parameters_read(test, frame.unit, frame.env) is not None:
            # A class no program builds, built by shapels with its defaults: an assert on its constructor's
            # parameters alone states what callers must pass (`assert out_features > 0` of a default 0)
            self.recorder.withheld()
            return
        written = arguments_read(test, frame.unit, frame.env, frame.param_locs)
        if written is not None:
            written = lift_to_authors(written, frame.caller)
        if written is not None:
            locs = list(written.values())
            where = (call_holding(locs[0].unit, locs) if len(locs) > 1 else None) or locs[0]
            owner = frame.owner.name if frame.owner is not None else "the class"
            report.arguments_fail_assertion(self, frame, where, frame.loc(test), self.node_text(test), message,
                                            written, owner)
            return
        report.assertion_error(self, frame, frame.loc(test), self.node_text(test), message, inputs, sizes)

    def report_size_check(self, test: cst.BaseExpression, raised: cst.Raise, frame: Frame) -> None:
        """`if h % self.output_stride != 0: raise RuntimeError(...)` true for the inputs in play: the
        program raises as a failing `assert not (...)` would, and is reported as one."""
        exception = raised.exc.func if isinstance(raised.exc, cst.Call) else raised.exc
        name = self.node_text(exception) if exception is not None else "the exception"
        said = None
        if isinstance(raised.exc, cst.Call) and raised.exc.args:
            message = self.eval(raised.exc.args[0].value, frame)
            said = message.value if isinstance(message, Const) and isinstance(message.value, str) else None
        inputs = _tensor_arguments(frame)
        report.size_check_raises(self, frame, frame.loc(test), self.node_text(test), name, said, inputs)

    def node_text(self, node: cst.CSTNode) -> str:
        """The source text of a node (of any file's syntax tree: libcst prints the node itself)."""
        return cst.Module(body=[]).code_for_node(node)

    def exec_assign(self, small: cst.Assign, frame: Frame) -> str:
        value = _EVALUATORS[type(small.value)](self, small.value, frame)
        shaped = self._shape_of(small.value, frame) if type(value) is Seq else None
        for target in small.targets:
            self.assign(target.target, value, frame, shaped)
        return NORMAL

    def _shape_of(self, node, frame: Frame) -> Optional[Tensor]:
        """The tensor whose sizes `x.shape` / `x.size()` reads (x a name or self.x): an unpacking of them into
        the wrong number of names is blamed with the tensor's provenance, so its cause can be found. Also
        `(*img.shape, self.patch_size)`: the sizes spread into a tuple with other values."""
        if type(node) is cst.Tuple:
            spread = [e.value for e in node.elements if type(e) is cst.StarredElement]
            return self._shape_of(spread[0], frame) if len(spread) == 1 else None
        if type(node) is cst.Call and not node.args:
            node = node.func
            if not (isinstance(node, cst.Attribute) and node.attr.value == "size"):
                return None
        elif not (type(node) is cst.Attribute and node.attr.value == "shape"):
            return None
        base = node.value
        if not (isinstance(base, cst.Name) or isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name)):
            return None
        tensor = self.eval(base, frame)
        return tensor if isinstance(tensor, Tensor) else None

    def exec_ann_assign(self, small: cst.AnnAssign, frame: Frame) -> str:
        if small.value is not None:
            self.assign(small.target, self.eval(small.value, frame), frame)
        return NORMAL

    def exec_aug_assign(self, small: cst.AugAssign, frame: Frame) -> str:
        current = self.eval(small.target, frame)
        value = self.eval(small.value, frame)
        op = type(small.operator).__name__.replace("Assign", "")
        result = self.binary(op, current, value, frame, small)
        tensor_values.forget([current])  # `t += 1` writes in place: every alias of t sees it
        if isinstance(current, SetValue):
            current.uncertain = True  # `s |= other` too, and that result is not followed
        self.assign(small.target, result, frame)
        return NORMAL

    def exec_expr(self, small: cst.Expr, frame: Frame) -> str:
        if type(small.value) not in (cst.SimpleString, cst.ConcatenatedString):  # a docstring does nothing
            _EVALUATORS[type(small.value)](self, small.value, frame)
        return NORMAL

    def exec_return(self, small: cst.Return, frame: Frame) -> str:
        frame.returns.append(self.eval(small.value, frame) if small.value is not None else NONE)
        return RETURN

    def exec_import(self, small, frame: Frame) -> str:
        aliases: dict = {}
        add_import(aliases, small)
        scope = frame.scope or self.main
        for local, target in aliases.items():
            frame.env[local] = self.linker.bind_import(target, scope)
        return NORMAL

    def exec_if(self, stmt: cst.If, frame: Frame) -> str:
        verdict = self.test_truth(stmt.test, frame)
        orelse = stmt.orelse
        if verdict is True:
            status = self.exec_block(stmt.body, frame)
            raised = _raise_ending(stmt.body) if status == DEAD else None
            if raised is not None and _compares_ints(self, stmt.test, frame):
                self.report_size_check(stmt.test, raised, frame)
            return status
        if verdict is False:
            return self.exec_orelse(orelse, frame)
        env_a, env_b = dict(frame.env), dict(frame.env)
        frame_a, frame_b = frame.branch(env_a, False), frame.branch(env_b, False)
        status_a = self.exec_block(stmt.body, frame_a)
        status_b = self.exec_orelse(orelse, frame_b)
        return self.join_branches(frame, [(env_a, status_a, frame_a), (env_b, status_b, frame_b)])

    def join_branches(self, frame: Frame, branches: list) -> str:
        """After branches of which we cannot tell which runs: (env, status, branch frame) each. The code
        after runs on the paths that fell through; if another left early (return, break, continue), it is
        reached only on some paths. A `raise` does not make it so: the program fails either way."""
        live = [env for env, status, _ in branches if status == NORMAL]
        if not live:
            left = {status for _, status, _ in branches} - {DEAD}  # a raising path fails either way
            if RETURN in left or not left:
                return RETURN if left else DEAD
            if len(left) > 1:  # some paths break, some continue: we follow the break
                frame.conditional = True
            return BREAK if BREAK in left else CONTINUE
        if any(status in (RETURN, BREAK, CONTINUE) or inner.conditional for _, status, inner in branches):
            frame.conditional = True
        if len(live) > 1:
            self.linker.settle_differing_imports(live)
        frame.env.clear()
        frame.env.update(live[0] if len(live) == 1 else functools.reduce(join_envs, live))
        return NORMAL

    def exec_orelse(self, orelse, frame: Frame) -> str:
        if orelse is None:
            return NORMAL
        if isinstance(orelse, cst.If):
            return self.exec_if(orelse, frame)
        return self.exec_block(orelse.body, frame)

    def exec_for(self, stmt: cst.For, frame: Frame) -> str:
        iterated = self.eval(stmt.iter, frame)
        if isinstance(iterated, LoaderValue) and iterated.nonempty is not False:
            return self.exec_data_loop(stmt, iterated.item, frame)
        items = iterate(iterated)
        if items is None or len(items) > MAX_LOOP:
            status = self.exec_unknown_loop(stmt.body, frame, targets_of(stmt.target))
            return self.exec_loop_else(stmt.orelse, frame) if status == NORMAL else status
        for item in items:
            self.assign(stmt.target, item, frame)
            ended = self.exec_round(stmt.body, frame)
            if ended is not None:
                return ended
        if stmt.orelse is not None:
            return self.exec_block(stmt.orelse.body, frame)
        return NORMAL

    def exec_data_loop(self, stmt: cst.For, item: Value, frame: Frame) -> str:
        """`for x, y in loader:` over a loader that yields at least one batch: the body runs once on one
        batch, its findings reported like a forward's. Every round sees batches of the same shapes; what a
        round carries to the next (`total += loss.item()`) is joined with what it was before the loop."""
        before = dict(frame.env)
        recording = frame.record
        if not recording:  # a loop outside a forward: its names are kept for hover (Recorder.loop_names)
            frame.record = True
            self.recorder.begin_loop()
        try:
            self.assign(stmt.target, item, frame)
            ended = self.exec_round(stmt.body, frame)
        finally:
            if not recording:
                frame.record = False
                self.recorder.end_loop()
        for name, value in list(frame.env.items()):
            if name in before and before[name] is not value:
                frame.env[name] = join(before[name], value)
        if ended is not None:
            return ended
        return self.exec_loop_else(stmt.orelse, frame)

    def exec_round(self, body, frame: Frame) -> Optional[str]:
        """One round of an unrolled loop: None to go on, else what the loop statement returns (a
        broken loop skips its else)."""
        status = self.exec_block(body, frame)
        if status == BREAK:
            return NORMAL
        return status if status in (RETURN, DEAD) else None

    def exec_while(self, stmt: cst.While, frame: Frame) -> str:
        """Unrolled while its test is known, like a `for` over known items (fewer rounds: the count is not
        known up front, and a training loop's body can be a whole model); then as an unknown loop."""
        returned = len(frame.returns)
        for _ in range(MAX_WHILE_ROUNDS):
            verdict = self.test_truth(stmt.test, frame)
            if verdict is False:
                return self.exec_block(stmt.orelse.body, frame) if stmt.orelse is not None else NORMAL
            if verdict is None:
                break
            ended = self.exec_round(stmt.body, frame)
            if ended is not None:
                return ended
        status = self.exec_unknown_loop(stmt.body, frame, set())
        if _always_true(stmt.test) and not _breaks_out(stmt.body):
            # `while True:` without a break ends only by return or raise: nothing after it runs
            return RETURN if len(frame.returns) > returned else DEAD
        return self.exec_loop_else(stmt.orelse, frame) if status == NORMAL else status

    def exec_loop_else(self, orelse, frame: Frame) -> str:
        """The else of a loop we could not unroll: it runs unless the loop was broken, which we cannot tell."""
        if orelse is None:
            return NORMAL
        env_run, env_skip = dict(frame.env), dict(frame.env)
        frame_run, frame_skip = frame.branch(env_run, False), frame.branch(env_skip, False)
        status = self.exec_block(orelse.body, frame_run)
        return self.join_branches(frame, [(env_run, status, frame_run), (env_skip, NORMAL, frame_skip)])

    def exec_match(self, stmt: cst.Match, frame: Frame) -> str:
        """Cases we do not match against: each may run (its captures unknown), or none may."""
        self.eval(stmt.subject, frame)
        branches = []
        exhaustive = False
        for case in stmt.cases:
            env = dict(frame.env)
            for name in _pattern_captures(case.pattern):
                env[name] = UNKNOWN
            inner = frame.branch(env, False)
            if case.guard is not None:
                self.eval(case.guard, inner)
            branches.append((env, self.exec_block(case.body, inner), inner))
            exhaustive = exhaustive or (case.guard is None and isinstance(case.pattern, cst.MatchAs)
                                        and case.pattern.pattern is None)  # `case _:` / `case name:`
        if not exhaustive:
            env = dict(frame.env)
            branches.append((env, NORMAL, frame.branch(env, False)))
        return self.join_branches(frame, branches)

    def exec_unknown_loop(self, body, frame: Frame, loop_targets: set) -> str:
        """A loop we cannot unroll: run the body once on unknowns, silently, then forget what it wrote."""
        probe_env = dict(frame.env)
        for name in loop_targets:
            probe_env[name] = UNKNOWN
        probe = frame.branch(probe_env, False)
        self.silenced += 1
        returned = len(frame.returns)  # branch frames share their function's list of returns
        try:
            with self.recorder.findings_apart():
                self.exec_block(body, probe)
            if len(frame.returns) > returned:
                frame.conditional = True  # the loop may return: what follows runs on some paths
        finally:
            self.silenced -= 1
        for name, value in probe_env.items():
            if frame.env.get(name) is not value:
                frame.env[name] = join(frame.env[name], value) if name in frame.env else UNKNOWN
        return NORMAL

    # -- assignment ----------------------------------------------------------------------------
    def assign(self, target, value: Value, frame: Frame, shaped: Optional[Tensor] = None) -> None:
        if type(target) is cst.Name:
            frame.env[target.value] = value
            if frame.record:
                self.recorder.name(frame.loc(target), target.value, value, True)
        elif type(target) in (cst.Tuple, cst.List):
            elements = target.elements
            star = [i for i, e in enumerate(elements) if type(e) is cst.StarredElement]
            items = iterate(value)
            if items is None or (not star and len(items) != len(elements)):
                if items is not None and type(value) is Seq and items and (
                        all(type(v) is Tensor for v in items) or all(type(v) is Number for v in items)):
                    # a split/chunk/unbind of known count, or a shape (`B, N, C = x.shape` of a 4-D x):
                    # Python's ValueError is certain
                    # one name more than the shape has dims: the tensor may lack a dim (its provenance goes
                    # with the finding, for the repair); a split's count says nothing of the kind
                    missing_dim = shaped if shaped is not None and len(elements) == len(items) + 1 else None
                    report.unpack_error(self, frame, frame.loc(target), len(items), len(elements),
                                        items[0] if type(items[0]) is Tensor else shaped, missing_dim,
                                        sizes=type(items[0]) is not Tensor)
                for e in elements:
                    self.assign(e.value, UNKNOWN, frame)
                return
            if star:
                i = star[0]
                after = len(elements) - i - 1
                if len(items) < len(elements) - 1:
                    for e in elements:
                        self.assign(e.value, UNKNOWN, frame)
                    return
                head, mid, tail = items[:i], items[i : len(items) - after], items[len(items) - after :]
                for e, v in zip(elements[:i], head):
                    self.assign(e.value, v, frame)
                self.assign(elements[i].value, ListValue(list(mid)), frame)
                for e, v in zip(elements[i + 1 :], tail):
                    self.assign(e.value, v, frame)
                return
            for e, v in zip(elements, items):
                self.assign(e.value, v, frame)
        elif type(target) is cst.Attribute:
            obj = self.eval(target.value, frame)
            name = target.attr.value
            if isinstance(obj, Instance):
                if not frame.certain:
                    if name in obj.attrs:
                        value = join(obj.attrs[name], value)
                    if obj.base_layer is not None:
                        obj.base_layer.opaque = True  # membership of the container now unknown
                containers.register_submodule(obj, name, value, frame.certain, frame.surely_reached)
            elif isinstance(obj, Layer):
                containers.assign_layer_attribute(obj, name, value, frame.certain)
            elif type(obj) is argparse_values.Namespace:
                argparse_values.set_attribute(obj, name, value, frame.certain)
        elif type(target) is cst.Subscript:
            obj = self.eval(target.value, frame)
            tensor_values.forget([obj])  # t[i] = v writes to the tensor's memory
            if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                key = self.eval(target.slice[0].slice.value, frame)
                containers.set_item(obj, key, value, frame.certain)

    def exec_del(self, small: cst.Del, frame: Frame) -> str:
        """`del blocks[0]`, `del d[k]`: the container changes (containers.delete_item); `del self.x` and
        `del name` unbind the attribute or name."""
        targets = [e.value for e in small.target.elements] if isinstance(small.target, (cst.Tuple, cst.List)) \
            else [small.target]
        for target in targets:
            if isinstance(target, cst.Subscript):
                obj = self.eval(target.value, frame)
                tensor_values.forget([obj])
                if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                    key = self.eval(target.slice[0].slice.value, frame)
                    containers.delete_item(obj, key, frame.certain)
                else:
                    containers.delete_item(obj, UNKNOWN, False)  # a slice: which items go is not followed
            elif isinstance(target, cst.Attribute):
                obj = self.eval(target.value, frame)
                if isinstance(obj, Instance):
                    if frame.certain:
                        obj.attrs.pop(target.attr.value, None)
                    else:
                        obj.attrs[target.attr.value] = UNKNOWN
            elif isinstance(target, cst.Name):
                frame.env[target.value] = UNKNOWN  # a later read is NameError, not followed
        return NORMAL

    # -- expressions ---------------------------------------------------------------------------
    def eval(self, node, frame: Frame) -> Value:
        if node is None:
            return NONE
        return _EVALUATORS[type(node)](self, node, frame)

    def eval_Name(self, node: cst.Name, frame: Frame) -> Value:
        """The name in the frame's own bindings (an import settled on its first read), else at the top
        level of its file. Read here rather than through a method of its own: names are the commonest
        expression (6,900 reads on efficientnet with its driver); that call and exec_simple's per small
        statement cost 3.7 M of its 573 M instructions."""
        name = node.value
        env = frame.env
        if name in env:
            value = env[name]
            if type(value) in PENDING:
                value = env[name] = self.linker.settle(value)
        else:
            value = self.linker.lookup_global(name, frame.scope or self.main)
        if frame.record and isinstance(value, (Tensor, Number)):
            self.recorder.name(frame.loc(node), name, value, False)
        return value

    def eval_Integer(self, node: cst.Integer, frame: Frame) -> Value:
        return _integer_literal(node.value)

    def eval_Float(self, node: cst.Float, frame: Frame) -> Value:
        try:
            return Number(float(node.value.replace("_", "")))
        except ValueError:
            return UNKNOWN

    def eval_SimpleString(self, node: cst.SimpleString, frame: Frame) -> Value:
        text = node.value
        # Short literals repeat (names, categories) and are cached; docstrings would only fill memory.
        return _string_literal(text) if len(text) <= MAX_CACHED_LITERAL else _evaluate_string(text)

    def eval_ConcatenatedString(self, node, frame: Frame) -> Value:
        return UNKNOWN

    def eval_Ellipsis(self, node, frame: Frame) -> Value:
        return Const(Ellipsis)

    def eval_Tuple(self, node: cst.Tuple, frame: Frame) -> Value:
        literal = _literal_items(node) if len(node.elements) >= MIN_LITERAL_ITEMS else None
        if literal is not None:
            return Seq(literal)
        items = self.eval_elements(node.elements, frame)
        return Seq(tuple(items)) if items is not None else UNKNOWN

    def eval_List(self, node: cst.List, frame: Frame) -> Value:
        literal = _literal_items(node) if len(node.elements) >= MIN_LITERAL_ITEMS else None
        if literal is not None:
            return ListValue(list(literal))  # a list of its own: the program may append to it
        items = self.eval_elements(node.elements, frame)
        return ListValue(items) if items is not None else UNKNOWN

    def eval_elements(self, elements, frame: Frame) -> Optional[list]:
        out: list = []
        for e in elements:
            value = _EVALUATORS[type(e.value)](self, e.value, frame)
            if type(e) is cst.StarredElement:
                items = iterate(value)
                if items is None:
                    return None
                out.extend(items)
            else:
                out.append(value)
        return out

    def eval_Dict(self, node: cst.Dict, frame: Frame) -> Value:
        items = {}
        for e in node.elements:
            if type(e) is cst.StarredDictElement:  # {**dd, **(conv_kwargs or {})}
                spread = self.eval(e.value, frame)
                if not isinstance(spread, DictValue):
                    return UNKNOWN
                items.update(spread.items)
                continue
            key = dict_key(self.eval(e.key, frame))
            if key is MISSING_VALUE:
                return UNKNOWN
            items[key] = self.eval(e.value, frame)
        return DictValue(items)

    def eval_Set(self, node: cst.Set, frame: Frame) -> Value:
        return membership.make_set(self.eval_elements(node.elements, frame))

    def eval_SetComp(self, node: cst.SetComp, frame: Frame) -> Value:
        return membership.make_set(self.comprehension(node, frame))

    def eval_ListComp(self, node: cst.ListComp, frame: Frame) -> Value:
        items = self.comprehension(node, frame)
        return ListValue(items) if items is not None else UNKNOWN

    def eval_GeneratorExp(self, node, frame: Frame) -> Value:
        items = self.comprehension(node, frame)
        return Seq(tuple(items)) if items is not None else UNKNOWN

    def eval_DictComp(self, node: cst.DictComp, frame: Frame) -> Value:
        """`{key[prefix_len:]: value for key, value in kwargs.items()}`: a dict of known keys."""
        pairs = self.comprehension(node, frame, lambda inner: (self.eval(node.key, inner), self.eval(node.value, inner)))
        if pairs is None:
            return UNKNOWN
        items = {}
        for key, value in pairs:
            if dict_key(key) is MISSING_VALUE:
                return UNKNOWN
            items[dict_key(key)] = value
        return DictValue(items)

    def comprehension(self, node, frame: Frame, element=None) -> Optional[list]:
        """The items of a one-`for` comprehension: `element(inner_frame)` per kept item (its `elt` by
        default); None where the items or which of them are kept are unknown."""
        comp = node.for_in
        if comp.inner_for_in is not None:
            return None
        items = iterate(self.eval(comp.iter, frame))
        if items is None or len(items) > MAX_LOOP:
            return None
        inner = frame.branch(dict(frame.env), frame.certain)
        inner.record = False
        out = []
        for item in items:
            self.assign(comp.target, item, inner)
            kept = [self.test_truth(condition.test, inner) for condition in comp.ifs]
            if None in kept:
                return None  # which items stay is unknown, so is the list
            if all(kept):
                out.append(element(inner) if element is not None else self.eval(node.elt, inner))
        return out

    def eval_Attribute(self, node: cst.Attribute, frame: Frame) -> Value:
        base = _EVALUATORS[type(node.value)](self, node.value, frame)
        value = attributes.get_attribute(self, base, node.attr.value, frame)
        if type(base) is argparse_values.Namespace and isinstance(node.value, cst.Name) and \
                isinstance(value, (Number, Const)):  # `opt.imageSize`: hover shows the value the script runs with
            self.recorder.name(frame.loc(node), f"{node.value.value}.{node.attr.value}", value, False)
        return value

    def eval_Call(self, node: cst.Call, frame: Frame) -> Value:
        self.budget.tick()
        evaluators = _EVALUATORS
        callee = evaluators[type(node.func)](self, node.func, frame)
        args, kwargs = [], {}
        for arg in node.args:
            value = evaluators[type(arg.value)](self, arg.value, frame)
            if arg.star == "*":
                items = iterate(value)
                if items is None:
                    return calls.unknown_result(callee)
                args.extend(items)
            elif arg.star == "**":
                if not isinstance(value, DictValue):
                    return calls.unknown_result(callee)
                kwargs.update(value.items)
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        return calls.call(self, callee, args, kwargs, frame, node)

    def eval_Subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        base = self.eval(node.value, frame)
        keys = []
        for element in node.slice:
            s = element.slice
            if type(s) is cst.Index:
                keys.append(self.eval(s.value, frame))
            else:
                keys.append(SliceValue(self.eval(s.lower, frame) if s.lower else NONE,
                                       self.eval(s.upper, frame) if s.upper else NONE,
                                       self.eval(s.step, frame) if s.step else NONE))
        key = keys[0] if len(keys) == 1 else Seq(tuple(keys))
        return indexing.subscript(self, base, key, frame, node)

    def eval_BinaryOperation(self, node: cst.BinaryOperation, frame: Frame) -> Value:
        left = _EVALUATORS[type(node.left)](self, node.left, frame)
        right = _EVALUATORS[type(node.right)](self, node.right, frame)
        return operators.binary(self, type(node.operator).__name__, left, right, frame, node)

    def binary(self, op: str, left: Value, right: Value, frame: Frame, node) -> Value:
        return operators.binary(self, op, left, right, frame, node)

    def eval_UnaryOperation(self, node: cst.UnaryOperation, frame: Frame) -> Value:
        value = self.eval(node.expression, frame)
        op = type(node.operator).__name__
        if op == "Not":
            t = truth(value)
            return Const(not t) if t is not None else UNKNOWN
        if isinstance(value, Number):
            if op == "Minus":
                return Number(-value.value)
            if op == "Plus":
                return value
        if isinstance(value, Tensor):
            return value
        return UNKNOWN

    def test_truth(self, node: cst.BaseExpression, frame: Frame) -> Optional[bool]:
        """The truth of a condition (`if`, `while`, a ternary, a comprehension's `if`). `a or b` is true when
        either side is, and `a and b` false when either is, even where the other side's truth and so the
        expression's value are unknown: `if drop_prob <= 0. or not self.training` in eval mode."""
        if type(node) is cst.BooleanOperation:
            left = self.test_truth(node.left, frame)
            short = type(node.operator) is not cst.And  # the left truth that decides without the right
            if left is short:
                return short
            right = self.test_truth(node.right, frame)
            if left is not None or right is short:
                return right
            return None
        if type(node) is cst.UnaryOperation and type(node.operator) is cst.Not:
            inner = self.test_truth(node.expression, frame)
            return None if inner is None else not inner
        return truth(_EVALUATORS[type(node)](self, node, frame))

    def eval_BooleanOperation(self, node: cst.BooleanOperation, frame: Frame) -> Value:
        left = self.eval(node.left, frame)
        t = truth(left)
        is_and = type(node.operator) is cst.And
        if t is None:
            self.eval(node.right, frame)
            return UNKNOWN
        if is_and and not t:
            return left
        if not is_and and t:
            return left
        return self.eval(node.right, frame)

    def eval_Comparison(self, node: cst.Comparison, frame: Frame) -> Value:
        left = _EVALUATORS[type(node.left)](self, node.left, frame)
        if len(node.comparisons) == 1 and type(node.comparisons[0].operator).__name__ in _TENSOR_COMPARISONS:
            comparator = node.comparisons[0].comparator
            right = _EVALUATORS[type(comparator)](self, comparator, frame)
            if isinstance(left, Tensor) or isinstance(right, Tensor):
                return self.compare_tensors(type(node.comparisons[0].operator).__name__, left, right, frame, node)
            return self._compare_chain(node, frame, left, right)
        return self._compare_chain(node, frame, left)

    def compare_tensors(self, op: str, left: Value, right: Value, frame: Frame, node) -> Value:
        """`x > 0`, `a == b`: torch's elementwise comparison (a bool tensor, shapes broadcast); `0 < x`
        runs x.__gt__(0), as Python reflects it. Anything but a tensor or a number on the other side is
        not followed."""
        method, reflected = _TENSOR_COMPARISONS[op]
        if not isinstance(left, Tensor):
            left, right, method = right, left, reflected
        if not isinstance(right, (Tensor, Number)):
            return UNKNOWN
        qualname = f"torch.Tensor.{method}"
        return calls.apply_rule(self, rule_registry.lookup(qualname), qualname, None, [left, right], {}, frame, node)

    def _compare_chain(self, node: cst.Comparison, frame: Frame, left: Value, first_right: Value = None) -> Value:
        result: Optional[bool] = True
        for n, target in enumerate(node.comparisons):
            right = first_right if n == 0 and first_right is not None else \
                _EVALUATORS[type(target.comparator)](self, target.comparator, frame)
            verdict = compare(type(target.operator).__name__, left, right)
            if verdict is False:
                return Const(False)
            if verdict is None:
                result = None
            left = right
        return Const(True) if result else UNKNOWN

    def eval_IfExp(self, node: cst.IfExp, frame: Frame) -> Value:
        t = self.test_truth(node.test, frame)
        if t is True:
            return self.eval(node.body, frame)
        if t is False:
            return self.eval(node.orelse, frame)
        return join(self.eval(node.body, frame), self.eval(node.orelse, frame))

    def eval_Lambda(self, node: cst.Lambda, frame: Frame) -> Value:
        """A function like any other (`invoke` evaluates its body): `self.mlpf = lambda x: ...`, and
        `map(lambda t: rearrange(t, ...), qkv)`. Its names resolve where it was written, late, as a def's."""
        return UserFunction(node, frame.owner, closure=frame.env, scope=frame.scope)

    def eval_FormattedString(self, node: cst.FormattedString, frame: Frame) -> Value:
        """f"denseblock{i + 1}": known when every part is (layer names are often computed so)."""
        out = []
        for part in node.parts:
            if type(part) is cst.FormattedStringText:
                out.append(part.value)
                continue
            value = plain(_EVALUATORS[type(part.expression)](self, part.expression, frame))
            if value is MISSING_VALUE or part.conversion is not None:
                return UNKNOWN
            spec = ""
            if part.format_spec:
                if not all(isinstance(p, cst.FormattedStringText) for p in part.format_spec):
                    return UNKNOWN
                spec = "".join(p.value for p in part.format_spec)
            try:
                out.append(format(value, spec))
            except (TypeError, ValueError):
                return UNKNOWN
        return Const("".join(out))

    def eval_NamedExpr(self, node: cst.NamedExpr, frame: Frame) -> Value:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    # -- functions -----------------------------------------------------------------------------
    def _fill_defaults(self, function: UserFunction, bound: dict, frame: Frame, scope) -> None:
        """Parameters left unbound take their default, evaluated where the function was defined (its
        module and enclosing function), not where it is called: `act_layer=nn.GELU` in a file the
        caller imports means that file's `nn`."""
        node = function.node
        defaults = None
        for name, default in signature(node).defaults:
            if bound.get(name) is UNBOUND:
                if defaults is None:
                    env = dict(function.closure) if function.closure else {}
                    defaults = Frame(node, env, frame.certain, frame.owner, False, [], frame.depth, scope)
                bound[name] = _EVALUATORS[type(default)](self, default, defaults)

    def invoke(self, function: UserFunction, args: list, kwargs: dict, frame: Frame, *, receiver=None,
               record: bool = False, owner=None, call_node=None) -> Value:
        """Run a user function body with arguments bound; its return values joined. A function with a
        functools cache answers from it where Python certainly would (function_caches.py); the limits
        below come first, so that what they cut short does not depend on what a cache holds."""
        if frame.depth >= MAX_DEPTH:
            self.calls_cut_short += 1
            return UNKNOWN
        node = function.node
        key = id(node)
        active = self._active.get(key, 0)
        if active >= MAX_UNCERTAIN_RECURSION and not frame.certain:
            # Recursion under a condition we cannot decide runs both ways at every level: 2^depth calls
            # (timm's is_static_pad with unknown sizes). A certain recursion (a U-Net block nesting
            # itself) still runs to MAX_DEPTH.
            self.calls_cut_short += 1
            return UNKNOWN
        # A method's cache would be keyed by its receiver too (not followed); `record` runs a forward for hover
        cache = self.caches.of(self, function) if receiver is None and not record else None
        self.invocations += 1
        self._active[key] = active + 1
        try:
            if cache is not None:
                returned = cache.call(self, args, kwargs, frame, lambda: self._invoke(
                    function, node, args, kwargs, frame, receiver, record, owner, call_node))
            elif receiver is None and not record and owner is None and (
                    pure := self.pure_calls.key(self, function, args, kwargs, frame, call_node)) is not None:
                returned = self.pure_calls.call(self, pure, lambda: self._invoke(
                    function, node, args, kwargs, frame, receiver, record, owner, call_node))
            else:
                returned = self._invoke(function, node, args, kwargs, frame, receiver, record, owner, call_node)
            return returned if returned is not None else UNKNOWN
        finally:
            self._active[key] = active

    def _invoke(self, function: UserFunction, node, args: list, kwargs: dict, frame: Frame, receiver, record: bool,
                owner, call_node) -> Optional[Value]:
        """What the call returns; None where it never does: the arguments do not bind (Python's TypeError),
        or every path raises."""
        env = dict(function.closure) if function.closure else {}
        bound = bind_user_params(node, ([receiver] if receiver is not None else []) + list(args), kwargs)
        if bound is None:
            return None
        owner = owner or function.owner
        scope = function.scope or (owner.scope if owner is not None else None) or frame.scope
        self._fill_defaults(function, bound, frame, scope)
        env.update(bound)
        inner = Frame(node, env, frame.certain, owner, record, [], frame.depth + 1, scope, conditional=frame.conditional,
                      caller=frame)
        if call_node is not None:
            names = signature(node).positional
            names = names[1:] if receiver is not None else names
            inner.param_locs = calls.ArgumentLocs(names, call_node, frame)
            watch = self.trial.arguments
            if watch:  # a fix trial's argument passed on through a user function (Conv2dNormActivation)
                written = calls.argument_nodes(names, call_node)
                self.trial.watched.extend((param, bound.get(param)) for param, value in written.items()
                                          if value in watch)
        if type(node) is cst.Lambda:
            return self.eval(node.body, inner)
        status = self.exec_block(node.body, inner)
        results = list(inner.returns)
        if status == NORMAL:
            results.append(NONE)
        return join_all(results) if results else None


# Statement node type -> the Interpreter method that runs it; types not listed do nothing.
_STATEMENTS: dict = {
    cst.SimpleStatementLine: Interpreter.exec_simple,
    cst.SimpleStatementSuite: Interpreter.exec_simple,
    cst.If: Interpreter.exec_if,
    cst.For: Interpreter.exec_for,
    cst.While: Interpreter.exec_while,
    cst.Match: Interpreter.exec_match,
    cst.With: Interpreter.exec_with,
    cst.Try: Interpreter.exec_try,
    cst.FunctionDef: Interpreter.exec_def,
}
_SMALL_STATEMENTS: dict = {
    cst.Assign: Interpreter.exec_assign,
    cst.AnnAssign: Interpreter.exec_ann_assign,
    cst.AugAssign: Interpreter.exec_aug_assign,
    cst.Expr: Interpreter.exec_expr,
    cst.Return: Interpreter.exec_return,
    cst.Raise: lambda interp, small, frame: DEAD,
    cst.Break: lambda interp, small, frame: BREAK,
    cst.Continue: lambda interp, small, frame: CONTINUE,
    cst.Import: Interpreter.exec_import,
    cst.ImportFrom: Interpreter.exec_import,
    cst.Del: Interpreter.exec_del,
    cst.Assert: Interpreter.exec_assert,
}
_STATEMENTS.update(_SMALL_STATEMENTS)  # the body of a one-line suite (`if x: return y`) is small statements

# Expression node type -> its Interpreter.eval_* function (an unbound method), filled on first use.
class _Evaluators(dict):
    """libcst node class -> its Interpreter.eval_<class name> (_eval_unknown where there is none), found on
    first use. Callers whose node is never None (a call's callee and arguments, an attribute's base, an
    assignment's value, a binary operation's sides, a comparison's, a condition, an f-string's parts, a
    parameter's default, an expression statement, a list's items) dispatch through it themselves rather
    than through Interpreter.eval: 11,000 calls fewer on efficientnet with its driver."""

    def __missing__(self, cls: type):
        method = self[cls] = getattr(Interpreter, f"eval_{cls.__name__}", _eval_unknown)
        return method


_EVALUATORS = _Evaluators()


def _eval_unknown(interp: Interpreter, node, frame: Frame) -> Value:
    return UNKNOWN


# Literals repeat (a 1,000-name category list, the same sizes in every block); their values are
# immutable, so one per spelling is shared.
@functools.lru_cache(maxsize=4096)
def _integer_literal(text: str) -> Number:
    return Number(int(text.replace("_", ""), 0))


MAX_CACHED_LITERAL = 80


def _evaluate_string(text: str) -> Value:
    try:
        return Const(ast.literal_eval(text))  # what libcst's SimpleString.evaluated_value does
    except Exception:  # noqa: BLE001 - odd escapes: just not a known string
        return UNKNOWN


_string_literal = functools.lru_cache(maxsize=8192)(_evaluate_string)

# A long list of literals (torchvision's 1,000 ImageNet categories, read by every model file that imports
# them) is evaluated item by item at each analysis. Its items are the same shared, immutable values every
# time, so they are kept per node, across analyses (an imported module's nodes are parsed once:
# scopes.parse_cached). Small lists are not worth the look-up.
MIN_LITERAL_ITEMS = 32
MAX_LITERAL_LISTS = 256  # nodes kept (their trees with them); past this the cache starts again
_LITERAL_LISTS: dict = {}  # id(node) -> (node, its items or None): the node kept so its id is not reused


def _literal_items(node) -> Optional[tuple]:
    """The values of a list or tuple display whose every item is an int or short string literal, or None."""
    entry = _LITERAL_LISTS.get(id(node))
    if entry is not None and entry[0] is node:
        return entry[1]
    items = []
    for element in node.elements:
        value = element.value
        kind = type(value)
        if type(element) is not cst.Element or not (
                kind is cst.Integer or kind is cst.SimpleString and len(value.value) <= MAX_CACHED_LITERAL):
            items = None
            break
        items.append(_integer_literal(value.value) if kind is cst.Integer else _string_literal(value.value))
    if len(_LITERAL_LISTS) >= MAX_LITERAL_LISTS:
        _LITERAL_LISTS.clear()
    result = tuple(items) if items is not None else None
    _LITERAL_LISTS[id(node)] = (node, result)
    return result


def is_import_line(stmt) -> bool:
    """A top-level import line: the module table already maps its names, resolved when first used,
    so a package's `__init__` does not load every submodule it mentions."""
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body
    )


# libcst comparison operator -> (the Tensor method Python calls, the one it calls when reflected)
_TENSOR_COMPARISONS = {"Equal": ("__eq__", "__eq__"), "NotEqual": ("__ne__", "__ne__"),
                       "LessThan": ("__lt__", "__gt__"), "LessThanEqual": ("__le__", "__ge__"),
                       "GreaterThan": ("__gt__", "__lt__"), "GreaterThanEqual": ("__ge__", "__le__")}


def _always_true(test) -> bool:
    """`while True:` / `while 1:`: a test no iteration can change."""
    if isinstance(test, cst.Name):
        return test.value == "True"
    return isinstance(test, cst.Integer) and int(test.value.replace("_", ""), 0) != 0


def _breaks_out(body) -> bool:
    """A `break` of this loop in its body (not one of a nested loop, function or class)."""
    stack = list(body.children)
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Break):
            return True
        if not isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(node.children)
        elif isinstance(node, (cst.For, cst.While)) and node.orelse is not None:
            stack.extend(node.orelse.children)  # a loop's else belongs to the enclosing loop
    return False


def _pattern_captures(pattern) -> set:
    """Names a match pattern binds (`case Point(x=px)`, `case [first, *rest]`, `case {**others}`)."""
    names, stack = set(), [pattern]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            names.add(node.name.value)
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            names.add(node.rest.value)
        stack.extend(node.children)
    return names


def targets_of(target) -> set:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        out = set()
        for e in target.elements:
            out |= targets_of(e.value)
        return out
    return set()




def _compares_ints(interp: Interpreter, node: cst.BaseExpression, frame: Frame) -> bool:
    """A comparison whose every operand evaluates to a known int, or `not`/`and`/`or` of such."""
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Not:
        return _compares_ints(interp, node.expression, frame)
    if type(node) is cst.BooleanOperation:
        return _compares_ints(interp, node.left, frame) and _compares_ints(interp, node.right, frame)
    if type(node) is cst.Call:
        # `divisible_by(image_size, patch_size)`: a helper given known ints decides on them alone
        return bool(node.args) and all(not arg.star and _known_int(interp.eval(arg.value, frame)) is not None
                                       for arg in node.args) and type(interp.eval(node.func, frame)) is UserFunction
    if type(node) is not cst.Comparison:
        return False
    operands = [node.left] + [target.comparator for target in node.comparisons]
    values = [interp.eval(operand, frame) for operand in operands]
    if all(type(v) is Seq for v in values):
        # `x.shape[1:] == (self.channels, self.image_size, self.image_size)`: a size tuple against one
        return len(values) == 2 and all(_known_ints(v) is not None for v in values)
    return all(_known_int(v) is not None for v in values)


def _tensor_arguments(frame: Frame) -> tuple:
    """The tensors the running function was given (where the repair's causes of a failing check start)."""
    params = frame.unit.params if isinstance(frame.unit, cst.FunctionDef) else None
    names = [p.name.value for p in list(params.posonly_params) + list(params.params)] if params else []
    return tuple(frame.env[n] for n in names if isinstance(frame.env.get(n), Tensor))


def _raise_ending(block) -> Optional[cst.Raise]:
    """The `raise` an if-body ends with (after statements that compute its message), if it does."""
    body = block.body if isinstance(block, cst.IndentedBlock) else [block]
    last = body[-1] if body else None
    small = last.body[-1] if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and last.body else None
    return small if isinstance(small, cst.Raise) and small.exc is not None else None


def _first_difference(got: tuple, wanted: tuple) -> Optional[tuple]:
    """(the size the input has, the size asserted) at the first place two equal-length size tuples differ."""
    if len(got) != len(wanted):
        return None
    return next(((a, b) for a, b in zip(got, wanted) if a != b), None)


def _known_int(value) -> Optional[int]:
    if isinstance(value, Number) and not isinstance(value.value, float):
        return D.as_int(value.value)
    return None


def _known_ints(value) -> Optional[tuple]:
    """The ints of a tuple (or torch.Size) whose every item is a known int."""
    items = tuple(_known_int(item) for item in value.items)
    return None if None in items else items
