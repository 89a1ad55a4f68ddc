"""The library's arguments read as the docs say, the same way by every
method: a ``wrt`` string is one name (or names between commas), never its
letters; numbers are never altered in silence (a masked entry, a complex
or text column); a wrong argument is a :class:`cgrad.InputError` of a type
json.md lists, never a raw TypeError or AttributeError; numpy's own
integers and warnings are handled as Python's."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cgrad
import cgrad.explain

# The error types json.md lists for the library's argument errors.
LISTED_TYPES = {"usage_error", "unknown_input", "invalid_value", "missing_value"}


def _raised(call) -> cgrad.InputError:
    with pytest.raises(cgrad.InputError) as raised:
        call()
    assert raised.value.type in LISTED_TYPES
    return raised.value


# -- 1. a wrt string is one name, as evaluate takes it

WRT_METHODS = {
    "evaluate": lambda f, wrt: list(f.evaluate(xy=1.0, x=2.0, y=3.0, wrt=wrt).gradient),
    "hessian": lambda f, wrt: list(f.hessian(xy=1.0, x=2.0, y=3.0, wrt=wrt)[0]),
    "formulas": lambda f, wrt: list(f.formulas(wrt=wrt).derivatives),
    "plan": lambda f, wrt: list(f.plan(wrt).wrt),
    "minimize": lambda f, wrt: list(
        cgrad.minimize(f, {"xy": 1, "x": 2, "y": 3}, wrt=wrt, steps=0).gradient
    ),
}


@pytest.mark.parametrize("method", sorted(WRT_METHODS))
@pytest.mark.parametrize(
    ("wrt", "names"),
    [("xy", ["xy"]), ("x, y", ["x", "y"]), (["y"], ["y"]), (iter(["x"]), ["x"])],
    ids=["one-string", "commas", "list", "iterator"],
)
def test_every_method_reads_a_wrt_string_as_one_name(method, wrt, names):
    function = cgrad.compile("xy*x + y")
    if isinstance(wrt, type(iter([]))):
        wrt = iter(list(names))  # (a fresh one for each method)
    assert WRT_METHODS[method](function, wrt) == names


@pytest.mark.parametrize("method", sorted(WRT_METHODS))
def test_every_method_refuses_a_wrt_that_is_no_input_as_evaluate_does(method):
    function = cgrad.compile("xy*x + y")
    expected = _raised(lambda: function.evaluate(xy=1.0, x=2.0, y=3.0, wrt=["q"]))
    error = _raised(lambda: WRT_METHODS[method](function, ["q"]))
    assert (error.message, error.type) == (expected.message, "unknown_input")
    assert error.hint == "the inputs are xy, x, y"


@pytest.mark.parametrize("method", sorted(WRT_METHODS))
def test_every_method_refuses_a_wrt_that_is_no_names(method):
    error = _raised(lambda: WRT_METHODS[method](cgrad.compile("xy*x + y"), 3))
    assert (error.message, error.type) == (
        "wrt must be input names, a list of them or one string, not 3",
        "usage_error",
    )


# -- 2. numbers never altered in silence


def test_a_masked_entry_is_nan_as_a_frames_missing_value():
    function = cgrad.compile("x*y")
    masked = np.ma.masked_array([1.0, 5.0], mask=[False, True])
    got = function.evaluate(x=masked, y=2.0)
    want = function.evaluate(x=np.array([1.0, np.nan]), y=2.0)
    np.testing.assert_array_equal(got.value, want.value)
    np.testing.assert_array_equal(got.gradient["y"], want.gradient["y"])
    assert [w.message for w in got.warnings] == [w.message for w in want.warnings]
    framed = cgrad.evaluate_frame(pd.DataFrame({"x": [1.0, None], "y": [2.0, 2.0]}), function)
    np.testing.assert_array_equal(got.value, framed["value"].to_numpy())


def test_an_integer_array_masked_and_a_mask_that_hides_nothing():
    function = cgrad.compile("x + 1")
    masked = np.ma.masked_array([1, 5], mask=[True, False])
    np.testing.assert_array_equal(
        function.evaluate(x=masked).value, function.evaluate(x=[np.nan, 5.0]).value
    )
    unmasked = np.ma.masked_array([1.0, 5.0])
    np.testing.assert_array_equal(
        function.evaluate(x=unmasked).value, function.evaluate(x=[1.0, 5.0]).value
    )


def test_fit_leaves_a_masked_row_out_as_a_nan_row():
    x = np.arange(1.0, 9.0)
    y = 2 * x + 1
    masked = cgrad.fit("a*x + b", {"x": np.ma.masked_array(x, mask=x == 4), "y": y}, target="y")
    nan = cgrad.fit("a*x + b", {"x": np.where(x == 4, np.nan, x), "y": y}, target="y")
    assert (masked.bad_rows, masked.params) == (nan.bad_rows, nan.params)
    assert masked.bad_rows.count == 1


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        (np.array([1 + 2j, 2, 3, 4]), "array([1.+2.j...+0.j, 4.+0.j])"),
        (np.array(["1", "2", "3", "4"]), "array(['1', '..., dtype='<U1')"),
    ],
    ids=["complex", "text"],
)
def test_fit_refuses_a_column_evaluate_refuses(column, shown):
    evaluated = _raised(lambda: cgrad.compile("x").evaluate(x=column))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning must not leak
        error = _raised(
            lambda: cgrad.fit("a*x + b", {"x": column, "y": np.arange(4.0)}, target="y")
        )
    assert evaluated.message == f"the value of x is not a number or an array of numbers: {shown}"
    assert (error.message, error.type) == (
        f"the column x is not a number or an array of numbers: {shown}",
        evaluated.type,
    )


# -- 3. wrong arguments are InputErrors


@pytest.mark.parametrize(
    ("call", "message", "kind"),
    [
        (
            lambda f: f.evaluate({1: 2.0}),
            "the values must be given by input name (a str), not by 1",
            "usage_error",
        ),
        *[
            (
                lambda f, name=name: f.derivative(name),
                f"the derivative is taken by one input, named by a str, not {name!r}",
                "usage_error",
            )
            for name in (None, 3, ["x"])
        ],
        (
            lambda f: f.derivative("q"),
            "cannot differentiate with respect to q: it is not an input",
            "unknown_input",
        ),
        (
            lambda f: cgrad.explain.paths(f, f.evaluate(x=1.0, y=2.0), 3),
            "the derivative is taken by one input, named by a str, not 3",
            "usage_error",
        ),
        (
            lambda f: cgrad.minimize("x^2 + y", None),
            "the start must be a mapping of input names to numbers, not None",
            "usage_error",
        ),
        (
            lambda f: cgrad.minimize("x^2 + y", {2: 1.0}),
            "the values must be given by input name (a str), not by 2",
            "usage_error",
        ),
        (
            lambda f: cgrad.minimize(5, {"x": 1}),
            "cgrad.minimize takes a compiled function (cgrad.compile) or a program's text, not int",
            "usage_error",
        ),
        (
            lambda f: cgrad.evaluate_frame(pd.DataFrame({"x": [1.0]}), 5),
            "cgrad.evaluate_frame takes a compiled function (cgrad.compile) or a program's "
            "text, not int",
            "usage_error",
        ),
        (
            lambda f: cgrad.fit(5, {"x": [1.0], "y": [1.0]}, target="y"),
            "cgrad.fit takes a compiled function (cgrad.compile) or a program's text, not int",
            "usage_error",
        ),
        (
            lambda f: cgrad.evaluate_frame({"x": np.array([1.0]), "y": np.array([2.0])}, f),
            "evaluate_frame takes a pandas DataFrame or an Arrow table or record batch, not dict",
            "usage_error",
        ),
    ],
)
def test_a_wrong_argument_is_an_input_error(call, message, kind):
    error = _raised(lambda: call(cgrad.compile("x*y")))
    assert (error.message, error.type) == (message, kind)


def test_a_warnings_index_that_is_no_integer_is_a_type_error():
    point = cgrad.compile("log(x)").evaluate(x=-1.0).warnings[0]
    many = cgrad.compile("log(x)").evaluate(x=np.array([-1.0, 1.0])).warnings[0]
    for warning in (point, many):
        with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
            warning.at("a")
    assert many.at(np.int64(0)) == many.at(0)
    assert many.at(1) is None


def test_an_arrow_integer_beyond_2_53_is_read_as_batch_reads_it(cli, tmp_path):
    table = pa.table({"x": [2**53 + 1, 3], "y": [1.0, 2.0]})
    pq.write_table(table, tmp_path / "big.parquet")
    run = cli("batch", str(tmp_path / "big.parquet"), "-e", "x*y", "--format", "json")
    assert run.exit_code == 0, run.output
    records = json.loads(run.stdout)
    out = cgrad.evaluate_frame(table, "x*y")
    assert out.column("value").to_pylist() == [r["value"] for r in records]
    assert out.column("grad_y").to_pylist() == [r["gradient"]["y"] for r in records]
    nulls = cgrad.evaluate_frame(pa.table({"x": pa.array([2**53 + 1, None])}), "x")
    assert nulls.column("value").to_pylist()[0] == float(2**53 + 1)
    assert np.isnan(nulls.column("value").to_pylist()[1])


# -- 4. any label the frame has


def test_evaluate_frame_maps_inputs_to_integer_labels():
    frame = pd.read_csv(__import__("io").StringIO("1.5,2.0\n3.0,4.0\n"), header=None)
    out = cgrad.evaluate_frame(frame, "x*y", columns={"x": 0, "y": 1})
    want = cgrad.compile("x*y").evaluate(x=np.array([1.5, 3.0]), y=np.array([2.0, 4.0]))
    np.testing.assert_array_equal(out["value"].to_numpy(), want.value)
    np.testing.assert_array_equal(out["grad_x"].to_numpy(), want.gradient["x"])
    tupled = pd.DataFrame({("a", 1): [2.0], "y": [3.0]})
    assert cgrad.evaluate_frame(tupled, "x*y", columns={"x": ("a", 1)})["value"].tolist() == [
        cgrad.compile("x*y").evaluate(x=2.0, y=3.0).value
    ]


def test_a_label_the_frame_lacks_is_still_refused():
    error = _raised(lambda: cgrad.evaluate_frame(pd.DataFrame({0: [1.0]}), "x", columns={"x": 7}))
    assert (error.message, error.type) == ("the frame has no column 7", "missing_value")


# -- 5. the Hessian warns of a non-finite input as evaluate does


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_the_hessian_warns_of_a_non_finite_input_as_evaluate_does(bad):
    function = cgrad.compile("x^3*y")
    evaluated = function.evaluate(x=bad, y=2.0)
    matrix, said = function.hessian(x=bad, y=2.0)
    assert not all(np.isfinite(v) for row in matrix.values() for v in row.values())
    inputs = [(w.type, w.message) for w in evaluated.warnings if w.type == "non_finite_input"]
    assert inputs and [(w.type, w.message) for w in said][: len(inputs)] == inputs
    # Said once: not again when the first derivatives' warnings say it.
    _, again = function.hessian(x=bad, y=2.0, known=evaluated.warnings)
    assert not [w for w in again if w.type == "non_finite_input"]


# -- 6. numpy's numbers as Python's


def test_a_longdouble_beyond_float64_is_infinity_with_cgrads_warning_only(cli):
    run = cli("eval", "x*y", "x=1e400", "y=1", "--json")
    document = json.loads(run.stdout)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning must not leak
        for value in (np.longdouble("1e4000"), np.array([np.longdouble("1e4000")])):
            result = cgrad.compile("x*y").evaluate(x=value, y=1)
            assert np.all(np.isinf(result.value))
            assert [w.message.split(" at ")[0] for w in result.warnings] == [
                w["message"] for w in document["warnings"]
            ]


def test_a_numpy_integer_order_is_a_whole_number():
    function = cgrad.compile("x^3*y")
    assert function.formulas(order=np.int64(2)).hessian == function.formulas(order=2).hessian
    error = _raised(lambda: function.formulas(order=np.float64(2.5)))
    assert (
        error.message
        == "the order of a derivative must be a whole number >= 1, not np.float64(2.5)"
    )
    error = _raised(lambda: function.formulas(order=True))
    assert error.message == "the order of a derivative must be a whole number >= 1, not True"
