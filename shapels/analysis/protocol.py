"""The interpreter as the semantic modules see it.

Attribute lookup, calls, builtins, enums and argparse need to evaluate code and call values, and the
interpreter needs them: they reach back up through this interface, which the interpreter passes as
`interp`, instead of importing interpreter.py (an import cycle). Only type checkers read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

if TYPE_CHECKING:
    import libcst as cst

    from shapels.analysis.frame import Budget, Frame
    from shapels.analysis.linker import Linker
    from shapels.analysis.modtable import ClassInfo
    from shapels.analysis.objects import UserFunction
    from shapels.analysis.positions import Loc
    from shapels.analysis.recorder import Recorder
    from shapels.analysis.scopes import Scope
    from shapels.analysis.trial_watch import TrialWatch
    from shapels.values import Value


class Interp(Protocol):
    module: cst.Module  # the analysed file
    main: Scope  # the analysed file's scope
    linker: Linker  # the files read, names across them (imports, star imports, bases from other files)
    recorder: Recorder
    budget: Budget
    source: str  # what runs: "driver", "import", ... (a run records it)
    first_error: Optional[Loc]  # where the current execution would stop
    silenced: int  # > 0 inside a loop probe whose findings are dropped
    trial: TrialWatch  # what a fix trial's re-analysis observes (repair.py)
    command_line: dict  # argparse dest -> the Python value the command line gives (Options.args)
    calls_cut_short: int  # calls the depth and recursion limits answered unknown
    written_attributes: dict  # hasattr's answers of attribute_writes.may_be_written, per files read
    invocations: int  # user function calls begun

    def eval(self, node: Any, frame: Frame) -> Value: ...

    def sizes_certainly_fail(self, test: Any, frame: Frame) -> bool:
        """Whether an assertion's test compares known ints and is certainly false."""

    def node_text(self, node: Any) -> str:
        """The source text of a node."""

    def report_assertion(self, test: Any, message: Optional[str], frame: Frame) -> None:
        """An assertion on sizes that certainly fails (report.assertion_error, with its evidence)."""

    def call(self, callee: Value, args: list, kwargs: dict, frame: Frame, node: Any) -> Value:
        """Call any value as Python would (calls.call)."""

    def invoke(self, function: UserFunction, args: list, kwargs: dict, frame: Frame, *, receiver: Any = None,
               record: bool = False, owner: Any = None, call_node: Any = None) -> Value: ...

    def class_attribute(self, info: ClassInfo, name: str) -> Optional[Value]:
        """A class-level assignment's value (attributes.class_attribute); None where there is none."""
