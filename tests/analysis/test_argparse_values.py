"""argparse defaults as values (analysis/argparse_values.py): programs whose layer sizes come from their
options, analysed and run under torch with `sys.argv` set to the program's name alone. Where torch runs,
shapels reports nothing and gives Net's output the shape torch gives; where torch raises, shapels reports
an error. What the command line must give, or what the model does not follow, stays unknown."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch  # noqa: F401 - the programs below run under it

from shapels.analysis.engine import Options, analyze

HEAD = """\
import argparse
import sys
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, size, hidden, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(size * size, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc2(self.fc1(x.flatten(1)))
"""


def _torch(source: str, monkeypatch) -> str:
    monkeypatch.setattr(sys, "argv", ["prog"])
    scope = {"__name__": "__main__"}
    try:
        exec(compile(source, "<program>", "exec"), scope)
    except (RuntimeError, ValueError, TypeError) as error:
        return f"error: {type(error).__name__}"
    return str(tuple(scope["out"].shape)).replace(",)", ")")


def _shapels(source: str) -> str:
    result = analyze(source, "m.py", Options())
    errors = [f for f in result.findings if f.severity == "error"]
    if errors:
        return "error: " + errors[0].code
    [net] = [m for m in result.modules if m.name == "Net"]
    return net.output.shape.show() if hasattr(net.output, "shape") else "?"


PROGRAMS = {
    "dcgan_style_defaults": ("""
parser = argparse.ArgumentParser()
parser.add_argument('--imageSize', type=int, default=28, help='the height / width of the input image')
parser.add_argument('--nh', type=int, default=64)
parser.add_argument('--cuda', action='store_true', help='enables cuda')
opt = parser.parse_args()
net = Net(opt.imageSize, opt.nh)
out = net(torch.randn(2, 28, 28))
""", "(2, 10)"),
    "a_default_the_input_does_not_fit": ("""
parser = argparse.ArgumentParser()
parser.add_argument('--imageSize', type=int, default=64)
opt = parser.parse_args()
out = Net(opt.imageSize, 32)(torch.randn(2, 32, 32))
""", "error"),
    "dest_and_a_string_default_converted_by_type": ("""
parser = argparse.ArgumentParser(description='x')
parser.add_argument('-s', '--image-size', dest='size', type=int, default='12')
parser.add_argument('--hidden-units', type=int, default=20)
args = parser.parse_args()
out = Net(args.size, args.hidden_units)(torch.randn(3, 12, 12))
""", "(3, 10)"),
    "vars_of_the_namespace": ("""
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=8)
parser.add_argument('--classes', type=int, default=5)
config = vars(parser.parse_args())
out = Net(config['size'], 16, classes=config['classes'])(torch.randn(1, 8, 8))
""", "(1, 5)"),
    "groups_set_defaults_and_a_later_assignment": ("""
parser = argparse.ArgumentParser()
group = parser.add_argument_group('model')
group.add_argument('--hidden', type=int, default=7)
parser.add_argument('--size', type=int)
parser.set_defaults(size=6, classes=3)
opt, _ = parser.parse_known_args()
opt.hidden = opt.hidden * 2
out = Net(opt.size, opt.hidden, opt.classes)(torch.randn(4, 6, 6))
""", "(4, 3)"),
    "store_true_decides_the_width": ("""
parser = argparse.ArgumentParser()
parser.add_argument('--big', action='store_true')
parser.add_argument('--no-small', dest='small', action='store_false')
opt = parser.parse_args()
size = 16 if opt.big else 4
classes = 2 if opt.small else 9
out = Net(size, 8, classes)(torch.randn(2, 4, 4))
""", "(2, 2)"),
    "type_applies_only_to_a_string_default": ("""
parser = argparse.ArgumentParser()
parser.add_argument('--scale', type=float, default=2)
opt = parser.parse_args()
size = 5 if isinstance(opt.scale, int) else 3
out = Net(size, 8)(torch.randn(2, 5, 5))
""", "(2, 10)"),
    "a_function_that_builds_the_parser": ("""
def get_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--size', default=9, type=int)
    return parser.parse_args()

args = get_args()
out = Net(args.size, 4)(torch.randn(1, 10, 10))
""", "error"),
    "getattr_with_a_default_and_hasattr": ("""
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=3)
opt = parser.parse_args()
size = getattr(opt, 'size', 100) if hasattr(opt, 'size') else 50
classes = getattr(opt, 'classes', 6)
out = Net(size, 4, classes)(torch.randn(1, 3, 3))
""", "(1, 6)"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_argparse_program_against_torch(name, monkeypatch):
    body, expected = PROGRAMS[name]
    source = HEAD + textwrap.dedent(body)
    ran = _torch(source, monkeypatch)
    assert ran.startswith("error") if expected == "error" else ran == expected, ran
    got = _shapels(source)
    if expected == "error":
        assert got.startswith("error"), got
    else:
        assert got == ran


UNKNOWN_SIZE = {
    # sys.argv read by hand: its length is the command line's, not known statically.
    "sys_argv_by_hand": """
size = int(sys.argv[1]) if len(sys.argv) > 1 else 32
out = Net(size, 4)(torch.randn(2, 16, 16))
""",
    # What the command line must give: a positional, a required option.
    "a_positional": """
parser = argparse.ArgumentParser()
parser.add_argument('size', type=int)
out = Net(parser.parse_args().size, 4)(torch.randn(2, 16, 16))
""",
    "a_required_option": """
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=32, required=True)
out = Net(parser.parse_args().size, 4)(torch.randn(2, 16, 16))
""",
    "an_explicit_command_line": """
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=32)
out = Net(parser.parse_args(['--size', '16']).size, 4)(torch.randn(2, 16, 16))
""",
    "subparsers": """
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=32)
sub = parser.add_subparsers(dest='command')
out = Net(parser.parse_args().size, 4)(torch.randn(2, 16, 16))
""",
    "options_from_an_unknown_dict": """
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=32)
parser.set_defaults(**load_config())
out = Net(parser.parse_args().size, 4)(torch.randn(2, 16, 16))
""",
    "set_on_a_path_that_may_not_run": """
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=32)
opt = parser.parse_args()
if torch.cuda.device_count() > 7:
    opt.size = 16
out = Net(opt.size, 4)(torch.randn(2, 16, 16))
""",
    "setattr_of_a_name_not_known": """
parser = argparse.ArgumentParser()
parser.add_argument('--size', type=int, default=32)
opt = parser.parse_args()
setattr(opt, input(), 16)
out = Net(opt.size, 4)(torch.randn(2, 16, 16))
""",
}

CUSTOM_TYPE = """
def side(text):
    return int(text) // 2

parser = argparse.ArgumentParser()
parser.add_argument('--size', type=side, default='64')
out = Net(parser.parse_args().size, 4)(torch.randn(2, SIDE, SIDE))
"""


@pytest.mark.parametrize("name", sorted(UNKNOWN_SIZE))
def test_what_the_command_line_gives_stays_unknown(name):
    source = HEAD + textwrap.dedent(UNKNOWN_SIZE[name])
    result = analyze(source, "m.py", Options())
    assert [f for f in result.findings if f.severity in ("error", "warning")] == []
    [net] = [m for m in result.modules if m.name == "Net"]
    assert net.output.shape.dims[-1] == 10  # fc2's width is known; fc1 never claimed a size


@pytest.mark.parametrize("side", [32, 16])
def test_a_custom_type_function_runs_on_the_string_default(side, monkeypatch):
    # argparse calls `type` on a string default: side('64') is 32, which a 32x32 input fits
    source = HEAD + textwrap.dedent(CUSTOM_TYPE).replace("SIDE", str(side))
    expected = "(2, 10)" if side == 32 else "error"
    assert _torch(source, monkeypatch).startswith(expected)
    assert _shapels(source).startswith(expected)


COMMAND_LINE = """
parser = argparse.ArgumentParser()
parser.add_argument('--dataset', required=True)
parser.add_argument('--imageSize', type=int, default=28)
opt = parser.parse_args()
size = opt.imageSize if opt.dataset == 'mnist' else 32
out = Net(size, 8)(torch.randn(2, 28, 28))
"""


@pytest.mark.parametrize("argv", [["--dataset", "mnist"], ["--dataset", "cifar10"], ["--dataset", "mnist", "--imageSize", "32"]])
def test_options_args_are_the_command_line(argv, monkeypatch):
    """Options.args gives parse_args what a command line gives (by dest); the run with that argv agrees."""
    source = HEAD + COMMAND_LINE
    monkeypatch.setattr(sys, "argv", ["prog", *argv])
    scope = {"__name__": "__main__"}
    try:
        exec(compile(source, "<program>", "exec"), scope)
        expected = str(tuple(scope["out"].shape)).replace(",)", ")")
    except RuntimeError:
        expected = "error"
    given = {argv[i].lstrip("-"): (int(argv[i + 1]) if argv[i + 1].isdigit() else argv[i + 1])
             for i in range(0, len(argv), 2)}
    result = analyze(source, "m.py", Options(args=given))
    errors = [f for f in result.findings if f.severity == "error"]
    [net] = [m for m in result.modules if m.name == "Net"]
    assert ("error" if errors else net.output.shape.show()) == expected
    # without the command line, the required option is unknown: nothing is claimed
    assert [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"] == []
