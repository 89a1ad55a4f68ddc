"""Seconds to draw big graphs: the tree and the steps as `cgrad` shows them
(cut off at 100 nodes) and whole, DOT and Mermaid, the graph's and the
steps' JSON (as ``graph --format json`` and ``eval --steps --json`` write
them, in pieces), and the path count.

    python bench/views.py [TERMS ...]     # default 2,500 and 25,000 terms

A flat sum of n terms ``sin(x*1) + ... + sin(x*n)`` has about 4n nodes.
"""

from __future__ import annotations

import io
import sys
import time

from rich.console import Console

import cgrad
from cgrad.explain import backward_steps, forward_steps, passes, paths
from cgrad.views.drawings import dot, mermaid
from cgrad.views.json_documents import graph_json_pieces, passes_json_pieces
from cgrad.views.styled_lines import print_blocks
from cgrad.views.terminal_steps import passes_report
from cgrad.views.terminal_tree import graph_tree


def seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def printed(*blocks) -> None:
    """Written as the command line writes its reports (print_blocks)."""
    print_blocks(Console(file=io.StringIO(), width=100, soft_wrap=True), blocks)


def consumed(pieces) -> None:
    for _ in pieces:
        pass


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [2_500, 25_000]
    header = ["nodes", "tree 100", "tree all", "trace", "steps 100", "steps all", "dot", "mermaid"]
    header += ["json", "steps json", "20 paths"]
    print(" ".join(f"{title:>10}" for title in header))
    for terms in sizes:
        graph, timings = measure(terms)
        print(f"{len(graph):>10,} " + " ".join(f"{t:>10.3f}" for t in timings))


def measure(terms: int) -> tuple:
    """The graph of an n-term sum, and the seconds of each view of it."""
    function = cgrad.compile(" + ".join(f"sin(x*{i})" for i in range(1, terms + 1)))
    graph = function.graph
    result = function.evaluate(x=0.5)
    start = time.perf_counter()
    trace = passes(function, result)
    tracing = time.perf_counter() - start
    return graph, [
        seconds(lambda: printed(graph_tree(graph, result))),
        seconds(lambda: printed(graph_tree(graph, result, limit=None))),
        tracing,
        seconds(lambda: printed(*passes_report(graph, trace))),
        seconds(lambda: printed(*passes_report(graph, trace, limit=None))),
        seconds(lambda: dot(graph, result)),
        seconds(lambda: mermaid(graph, result)),
        seconds(lambda: consumed(graph_json_pieces(graph, result))),
        seconds(
            lambda: consumed(
                passes_json_pieces(
                    graph, forward_steps(function, result), backward_steps(function, result)
                )
            )
        ),
        seconds(lambda: paths(function, result, "x", limit=20)),
    ]


if __name__ == "__main__":
    main()
