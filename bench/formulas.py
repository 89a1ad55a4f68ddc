"""How big `cgrad diff`'s formulas are beside SymPy's, on textbook expressions.

    python bench/formulas.py [--rows] [--seconds S]

For each expression of ``EXPRESSIONS`` (polynomials, the product, quotient
and chain rules, exp/log/trig mixes, a sigmoid neuron, a two-layer net's
loss written with bindings, logsumexp, Rosenbrock, a rational function,
``atan(y/x)``, ``sqrt(x^2 + y^2)``): the operator count of cgrad's gradient
and Hessian (``Function.formulas(order=2)``, what ``cgrad diff --order 2``
prints) beside SymPy's raw ``diff``, ``cse`` of it and ``simplify`` of it.

Counted the same way for all: SymPy's ``count_ops`` of each printed
statement. cgrad's text is read into SymPy without evaluation (``x*x``
stays two factors; ``sigmoid``, ``softplus`` and ``hypot`` stay one call
each), a binding's name is a symbol, and the statements of a formula are
added up; ``cse``'s replacements are counted the same way. A gradient's
count is the sum over its partials, a Hessian's over all its entries.
Every formula of cgrad is also checked against SymPy's derivative at 5
random points (relative 1e-9). ``simplify`` is given ``--seconds`` per
expression (a row where it does not finish counts as not bigger).

SymPy is a test-only dependency: this script needs the ``test`` extra.
"""

from __future__ import annotations

import argparse
import math
import random
import signal
import sys

import sympy
from sympy.parsing.sympy_parser import parse_expr

import cgrad

EXPRESSIONS = [
    # polynomials
    "x^2",
    "x*x*x",
    "x^2*x^3",
    "x - 2*x^3 + 3*x^4",
    "(x + 1)^3",
    "x^3*y + x*y^2",
    "(x + y)^2*(x - y)",
    # product, quotient and chain rules
    "x*sin(x)",
    "sin(x)/x",
    "x/(1 + x)",
    "1/(1 + x)^2",
    "1/sqrt(x)",
    "sqrt(1 + x^2)",
    "(x^2 + 1)/(x - 1)",
    "exp(x)*cos(x)",
    "x*exp(-x^2)",
    "sin(x^2)",
    "cos(sin(x))",
    "exp(sin(x)*cos(x))",
    "sqrt(x)*log(x)",
    "x*log(x) - x",
    # exp, log and trig mixes
    "log(1 + x^2)",
    "log(x*y)",
    "log(exp(x))",
    "sin(x)^2 + cos(x)^2",
    "tan(x)",
    "atan(x)",
    "asin(x)",
    "tanh(x)",
    "sinh(x)*cosh(y)",
    "x^y",
    "exp(x)/(1 + exp(x))",
    "sin(x)*cos(y) + x*y",
    "x*y*exp(x + y)",
    "sin(x*y)/(x + y)",
    "softplus(x*y)",
    # models
    "sigmoid(w*x + b)",
    "h1 = tanh(w1*x + b1); h2 = tanh(w2*x + b2); o = v1*h1 + v2*h2 + c; (o - t)^2",
    "log(exp(x) + exp(y) + exp(z))",
    "(1 - x)^2 + 100*(y - x^2)^2",
    "(x^2 - y)/(x*y + 1)",
    "atan(y/x)",
    "sqrt(x^2 + y^2)",
    "hypot(x, y)",
    "exp(-(x^2 + y^2)/2)",
]

_FUNCTIONS = {
    "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)),
    "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
    "hypot": lambda a, b: sympy.sqrt(a**2 + b**2),
    "abs": sympy.Abs,
    "sign": sympy.sign,
    "min": sympy.Min,
    "max": sympy.Max,
}
# For counting: cgrad's own functions are one call each.
_CALLS = {name: sympy.Function(name) for name in ("sigmoid", "softplus", "hypot")}
_CALLS.update({"abs": sympy.Abs, "sign": sympy.sign, "min": sympy.Min, "max": sympy.Max})


def sympy_of(program: str) -> sympy.Expr:
    """The program's value as a SymPy expression, its bindings put in."""
    names: dict = dict(_FUNCTIONS)
    *bindings, last = [s.strip() for s in program.replace("\n", ";").split(";") if s.strip()]
    for binding in bindings:
        name, text = binding.split("=", 1)
        names[name.strip()] = parse_expr(text.replace("^", "**"), local_dict=names)
    return parse_expr(last.replace("^", "**"), local_dict=names)


def counted(statements: list[str]) -> int:
    """count_ops of a printed cgrad formula, statement by statement."""
    names: dict = dict(_CALLS)
    total = 0
    for statement in statements:
        text = statement.split("=", 1)[1] if "=" in statement else statement
        if "=" in statement:
            names[statement.split("=", 1)[0].strip()] = sympy.Symbol(statement.split("=")[0])
        expr = parse_expr(text.replace("^", "**"), local_dict=names, evaluate=False)
        total += int(sympy.count_ops(expr))
    return total


class _LateError(Exception):
    pass


def _alarm(signum, frame):
    raise _LateError


def simplified(exprs: list, seconds: float) -> list | None:
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return [sympy.simplify(e) for e in exprs]
    except _LateError:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def cse_count(exprs: list) -> int:
    replacements, reduced = sympy.cse(exprs)
    return sum(int(sympy.count_ops(e)) for _, e in replacements) + sum(
        int(sympy.count_ops(e)) for e in reduced
    )


def checked(text: str, rng: random.Random) -> bool:
    """Every partial and Hessian entry cgrad prints equals SymPy's
    derivative at 5 random points."""
    function = cgrad.compile(text)
    found = function.formulas(order=2)
    expr = sympy_of(text)
    symbols = {name: sympy.Symbol(name) for name in function.inputs}
    formulas = [((a,), found.derivatives[a]) for a in function.inputs]
    assert found.hessian is not None
    formulas += [((a, b), found.hessian[a][b]) for a in function.inputs for b in function.inputs]
    for _ in range(5):
        point = {name: rng.uniform(0.2, 0.9) for name in function.inputs}
        at = {symbols[n]: sympy.Float(v, 30) for n, v in point.items()}
        for by, statements in formulas:
            printed = cgrad.compile("; ".join(statements))
            ours = printed.evaluate({n: point[n] for n in printed.inputs}).value
            theirs = float(sympy.diff(expr, *(symbols[n] for n in by)).evalf(30, subs=at))
            if not math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12):
                return False
    return True


def row(text: str, seconds: float, rng: random.Random) -> dict:
    function = cgrad.compile(text)
    found = function.formulas(order=2)
    assert found.hessian is not None
    names = function.inputs
    expr = sympy_of(text)
    symbols = [sympy.Symbol(n) for n in names]
    gradient = [sympy.diff(expr, s) for s in symbols]
    hessian = [sympy.diff(g, s) for g in gradient for s in symbols]
    simple_gradient = simplified(gradient, seconds)
    simple_hessian = simplified(hessian, seconds) if simple_gradient is not None else None
    return {
        "text": text,
        "cgrad": (
            sum(counted(found.derivatives[n]) for n in names),
            sum(counted(found.hessian[a][b]) for a in names for b in names),
        ),
        "diff": (
            sum(int(sympy.count_ops(g)) for g in gradient),
            sum(int(sympy.count_ops(h)) for h in hessian),
        ),
        "cse": (cse_count(gradient), cse_count(hessian)),
        "simplify": None
        if simple_gradient is None or simple_hessian is None
        else (
            sum(int(sympy.count_ops(g)) for g in simple_gradient),
            sum(int(sympy.count_ops(h)) for h in simple_hessian),
        ),
        "equal": checked(text, rng),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="print every row")
    parser.add_argument("--seconds", type=float, default=20.0, help="for simplify, per expression")
    options = parser.parse_args()
    rng = random.Random(15)
    rows = [row(text, options.seconds, rng) for text in EXPRESSIONS]
    if options.rows:
        print(f"{'expression':44} {'cgrad':>9} {'diff':>9} {'cse':>9} {'simplify':>9} equal")
        for r in rows:
            simple = "-" if r["simplify"] is None else pair(r["simplify"])
            print(
                f"{r['text'][:44]:44} {pair(r['cgrad']):>9} {pair(r['diff']):>9} "
                f"{pair(r['cse']):>9} {simple:>9} {r['equal']}"
            )
    summary(rows)


def pair(counts: tuple[int, int]) -> str:
    return f"{counts[0]}/{counts[1]}"


def summary(rows: list[dict]) -> None:
    def at_most(r, other, i):
        return r[other] is None or r["cgrad"][i] <= r[other][i]

    n = len(rows)
    for i, part in enumerate(("gradient", "Hessian")):
        simpler = sum(at_most(r, "simplify", i) for r in rows)
        print(
            f"{part}: no bigger than simplify in {simpler}/{n}, "
            f"than cse in {sum(at_most(r, 'cse', i) for r in rows)}/{n}, "
            f"than raw diff in {sum(at_most(r, 'diff', i) for r in rows)}/{n}; "
            f"operators {sum(r['cgrad'][i] for r in rows)} "
            f"(diff {sum(r['diff'][i] for r in rows)}, cse {sum(r['cse'][i] for r in rows)})"
        )
    both = sum(at_most(r, "simplify", 0) and at_most(r, "simplify", 1) for r in rows)
    print(
        f"both no bigger than simplify: {both}/{n}; simplify did not finish: "
        f"{sum(r['simplify'] is None for r in rows)}; equal to SymPy at 5 points: "
        f"{sum(r['equal'] for r in rows)}/{n}"
    )
    bigger = [r["text"] for r in rows if not (at_most(r, "diff", 0) and at_most(r, "diff", 1))]
    if bigger:
        print("bigger than raw diff:", "; ".join(bigger))


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)  # SymPy's own printers and simplify recurse
    main()
