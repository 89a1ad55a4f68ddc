"""Golden strings for the text output: fixed width, no colour."""

from __future__ import annotations

import io

from rich.console import Console

import cgrad
from cgrad.views.terminal_reports import evaluation_report
from cgrad.views.terminal_tree import graph_tree


def render(renderable, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable, soft_wrap=True)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def report(text: str, **values: float) -> str:
    f = cgrad.compile(text)
    inputs = {name: float(values[name]) for name in f.inputs}
    return render(evaluation_report(f.graph, inputs, f.evaluate(inputs)))


def test_seed_report():
    assert report("(x+y)*z", x=1, y=2, z=3) == "\n".join(
        [
            "(x+y)*z",
            "value 9",
            "",
            "input   value   ∂f/∂input",
            "─────────────────────────",
            "x           1           3",
            "y           2           3",
            "z           3           3",
            "",
            "@4 mul (x+y)*z  = 9  grad 1",
            "├── @2 add x+y  = 3  grad 3",
            "│   ├── @0 input x  = 1  grad 3",
            "│   └── @1 input y  = 2  grad 3",
            "└── @3 input z  = 3  grad 3",
            "5 nodes, 0 shared",
        ]
    )


def test_shared_node_is_drawn_once_and_referenced():
    assert report("a = x*y; a + sin(a)", x=0.5, y=2) == "\n".join(
        [
            "a = x*y; a + sin(a)",
            "value 1.8414709848078965",
            "",
            "input   value            ∂f/∂input",
            "──────────────────────────────────",
            "x         0.5   3.0806046117362795",
            "y           2   0.7701511529340699",
            "",
            "@4 add a + sin(a)  = 1.84147  grad 1",
            "├── @2 mul a = x*y  = 1  grad 1.5403",
            "│   ├── @0 input x  = 0.5  grad 3.0806",
            "│   └── @1 input y  = 2  grad 0.770151",
            "└── @3 sin sin(a)  = 0.841471  grad 1",
            "    └── @2 mul a = x*y  (shared, drawn above)",
            "5 nodes, 1 shared",
        ]
    )


def test_warnings_follow_the_report():
    text = report("sqrt(x)", x=0)
    assert text.splitlines()[-1] == (
        "warning: `sqrt(x)` (node @1, line 1, column 1) is at a kink, sqrt(0); "
        "by convention, sqrt'(0) = inf "
        "(one-sided: undefined from the left, Infinity from the right)"
    )


def test_tree_without_values_and_cut_off():
    f = cgrad.compile(" + ".join(f"x*{i}" for i in range(1, 40)))
    lines = render(graph_tree(f.graph, limit=5)).splitlines()
    assert lines == [
        "@116 add x*1 + x*2 + x*3 + x*4 + x*5 +…5 + x*36 + x*37 + x*38 + x*39",
        "├── @113 add x*1 + x*2 + x*3 + x*4 + x*5 +…4 + x*35 + x*36 + x*37 + x*38",
        "│   ├── @110 add x*1 + x*2 + x*3 + x*4 + x*5 +…3 + x*34 + x*35 + x*36 + x*37",
        "│   │   ├── @107 add x*1 + x*2 + x*3 + x*4 + x*5 +…2 + x*33 + x*34 + x*35 + x*36",
        "│   │   │   ├── @104 add x*1 + x*2 + x*3 + x*4 + x*5 +…1 + x*32 + x*33 + x*34 + x*35",
        "... 112 more nodes (--full draws them all)",
        "117 nodes, 1 shared",
    ]


def test_deep_lines_are_whole_and_indentation_stops_growing():
    f = cgrad.compile("sin(" * 30 + "x" + ")" * 30)
    lines = render(graph_tree(f.graph, f.evaluate(x=1.0), limit=None), width=40).splitlines()
    assert len(lines) == 32 and lines[-1] == "31 nodes, 0 shared"
    assert [line.split("@")[1].split()[0] for line in lines[:-1]] == [
        str(i) for i in range(30, -1, -1)
    ]
    assert lines[30].startswith("⋮30 " + " " * 92 + "└── @0 input x  = 1  grad 0.0198949")


def test_unused_bindings_are_counted_apart_and_forward_mode_says_why_no_grads():
    f = cgrad.compile("u = y*3; x*2")
    lines = render(graph_tree(f.graph, f.evaluate(x=1, y=2, mode="forward"))).splitlines()
    assert lines == [
        "@5 mul x*2  = 2",
        "├── @3 input x  = 1",
        "└── @4 const 2  = 2",
        "3 nodes, 0 shared (and 3 in bindings the output does not use)",
        "(node gradients come from --mode reverse)",
    ]
