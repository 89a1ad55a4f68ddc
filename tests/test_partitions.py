"""``cgrad batch`` over a directory or a glob of parts: one output part per
input part in ``-o DIRECTORY``, each exactly what the same part gives as a
single file; bad rows numbered within their part, the summary naming it;
and the same bytes when the parts run on a Dask cluster (``--scheduler``)."""

from __future__ import annotations

import operator
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cgrad

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
EXPRESSION = "t = x*y; sin(t) + t*z"


def _numbers(generator: np.random.Generator, count: int) -> list[str]:
    """Shortest round-trip floats of many magnitudes and both signs."""
    values = generator.normal(size=count) * 10.0 ** generator.integers(-8, 8, size=count)
    return [repr(float(value)) for value in values]


def _write_parts(directory: Path, bad_row: int | None = None) -> None:
    """Two CSV parts and an NDJSON part (with ids), and files a directory of
    parts holds beside its data; part b's row ``bad_row`` is not a number."""
    generator = np.random.default_rng(16)
    directory.mkdir()
    for name, rows in (("a", 300), ("b", 5)):
        lines = ["x,y,z,label"]
        for row in range(rows):
            x, y, z = _numbers(generator, 3)
            if name == "b" and row + 1 == bad_row:
                y = "oops"
            lines.append(f"{x},{y},{z},{name}{row}")
        (directory / f"{name}.csv").write_text("\n".join(lines) + "\n")
    records = []
    for row in range(40):
        x, y, z = _numbers(generator, 3)
        records.append(f'{{"id": "c{row}", "x": {x}, "y": {y}, "z": {z}}}')
    (directory / "c.ndjson").write_text("\n".join(records) + "\n")
    (directory / "_SUCCESS").write_text("")
    (directory / ".c.ndjson.crc").write_text("not data")


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def _single_file_outputs(cli, parts: list[Path], target: Path, *options: str) -> dict[str, bytes]:
    """What each part gives when run alone, as one file."""
    target.mkdir()
    for part in parts:
        name = part.name
        if "--format" in options:
            name = part.stem + "." + options[options.index("--format") + 1]
        cli("batch", str(part), "-e", EXPRESSION, "-o", str(target / name), *options)
    return _files(target)


def _data(parts: Path, pattern: str = "[!._]*") -> list[Path]:
    return sorted(parts.glob(pattern))


@pytest.fixture
def parts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_parts(tmp_path / "parts")
    return tmp_path / "parts"


def test_a_directory_gives_one_part_per_part_each_as_its_file_alone(cli, parts, tmp_path):
    result = cli("batch", "parts", "-e", EXPRESSION, "-o", "out")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    written = _files(tmp_path / "out")
    # Same base name and format; _SUCCESS and hidden files are not parts.
    assert list(written) == ["a.csv", "b.csv", "c.ndjson"]
    assert written == _single_file_outputs(cli, _data(parts), tmp_path / "single")
    assert written["c.ndjson"].startswith(b'{"row": 1, "id": "c0", "inputs": {"x": ')


def test_a_glob_with_format_writes_that_format_under_the_base_names(cli, parts, tmp_path):
    result = cli("batch", "parts/*.csv", "-e", EXPRESSION, "-o", "out/", "--format", "ndjson")
    assert (result.exit_code, result.stderr) == (0, "")
    written = _files(tmp_path / "out")
    assert list(written) == ["a.ndjson", "b.ndjson"]
    alone = _single_file_outputs(
        cli, _data(parts, "*.csv"), tmp_path / "single", "--format", "ndjson"
    )
    assert written == alone


def test_records_with_their_own_expressions_go_part_by_part(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs").mkdir()
    for name in ("one.ndjson", "two.ndjson"):
        shutil.copy(SAMPLES / "jobs.ndjson", tmp_path / "jobs" / name)
    result = cli("batch", "jobs", "-o", "out")
    alone = cli("batch", str(SAMPLES / "jobs.ndjson"))
    assert result.exit_code == 1 and alone.exit_code == 1
    assert _files(tmp_path / "out") == {
        "one.ndjson": alone.stdout.encode(),
        "two.ndjson": alone.stdout.encode(),
    }
    assert result.stderr == (
        "cgrad: warning: `abs(x)` (node @1, line 1, column 1) is at a kink for 2 rows, "
        "first at jobs/one.ndjson row 7\n"
        "cgrad: error: 2 of 14 records in 2 of 2 parts failed and are error records in the "
        "output (first: jobs/one.ndjson row 6: unknown_function: unknown function 'sinn' at "
        "line 1, column 1 (hint: did you mean sin, sinh or sign?))\n"
    )


BAD = "invalid_value: the value of y is not a number: 'oops'"


@pytest.fixture
def bad_parts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_parts(tmp_path / "parts", bad_row=4)
    return tmp_path / "parts"


def test_a_bad_row_keeps_its_number_within_its_part(cli, bad_parts, tmp_path):
    result = cli("batch", "parts", "-e", EXPRESSION, "-o", "out")
    assert result.exit_code == 1
    assert result.stderr == (
        "cgrad: error: 1 of 345 records in 1 of 3 parts failed and are error records in the "
        f"output (first: parts/b.csv row 4: {BAD})\n"
    )
    lines = (tmp_path / "out" / "b.csv").read_text().splitlines()
    assert len(lines) == 6 and lines[4].endswith(f",b3,,,,,{BAD},")
    # (x and z, which the row has, are kept beside its error; y is not)
    row, x, y, z = lines[4].split(",")[:4]
    assert row == "4" and float(x) and y == "" and float(z)
    assert _files(tmp_path / "out") == _single_file_outputs(
        cli, _data(bad_parts), tmp_path / "single"
    )


def test_on_error_skip_leaves_the_bad_row_out_of_its_part(cli, bad_parts, tmp_path):
    result = cli("batch", "parts", "-e", EXPRESSION, "-o", "out", "--on-error", "skip")
    assert result.exit_code == 1
    assert result.stderr == (
        "cgrad: error: 1 of 345 records in 1 of 3 parts failed and were left out "
        f"(first: parts/b.csv row 4: {BAD})\n"
    )
    rows = [line.split(",")[0] for line in (tmp_path / "out" / "b.csv").read_text().splitlines()]
    assert rows == ["row", "1", "2", "3", "5"]


def test_on_error_fail_stops_at_the_part_with_the_bad_row(cli, bad_parts, tmp_path):
    result = cli("batch", "parts", "-e", EXPRESSION, "-o", "out", "--on-error", "fail")
    assert result.exit_code == 1
    assert result.stderr == f"cgrad: error: stopped at parts/b.csv row 4: {BAD}\n"
    # The part before it is whole; the stopped one and those after it are
    # not written, and no temporary file is left.
    assert os.listdir(tmp_path / "out") == ["a.csv"]


def test_a_part_that_cannot_be_read_as_a_whole_is_named(cli, parts, tmp_path):
    (parts / "b.csv").write_text("x,y\n1,2\n")
    result = cli("batch", "parts", "-e", EXPRESSION, "-o", "out")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: parts/b.csv: the input has no column for z\nhint: its columns are x, y\n"
    )
    assert os.listdir(tmp_path / "out") == ["a.csv"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nothing/*.csv", "-o", "out"], "no input: no file matches 'nothing/*.csv'"),
        (["empty", "-o", "out"], "no input: the directory empty holds no file"),
        (
            ["parts", "-o", "taken.csv"],
            "cannot write the output parts to taken.csv: it is a file, not a directory",
        ),
        (
            ["parts"],
            "a directory or a glob of parts needs -o DIRECTORY for the output parts\n"
            "hint: for example: -o out/",
        ),
        (
            ["parts", "-o", "parts"],
            "-o parts would replace the input part parts/a.csv\n"
            "hint: write the output parts to another directory",
        ),
        (
            ["parts/*", "-o", "out", "--format", "csv"],
            "parts/c.csv and parts/c.ndjson would both be written to out/c.csv\n"
            "hint: give the parts different base names, or keep their formats (no --format)",
        ),
        (
            ["parts", "-o", "out", "--format", "table"],
            "--format table is for a terminal, not for output parts",
        ),
        (
            ["parts/a.csv", "-o", "out.csv", "--scheduler", "local"],
            "--scheduler runs the parts of a directory or a glob, and INPUT is one file\n"
            "hint: give a directory or a quoted pattern ('parts/*.csv') and -o DIRECTORY",
        ),
    ],
)
def test_what_cannot_be_run_is_a_clear_error_before_any_output(
    cli, parts, tmp_path, arguments, message
):
    (tmp_path / "empty").mkdir()
    (tmp_path / "taken.csv").write_text("kept\n")
    (parts / "c.csv").write_text("x,y,z\n1,2,3\n")
    result = cli("batch", *arguments, "-e", EXPRESSION)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"cgrad: error: {message}\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.csv").exists()
    assert (tmp_path / "taken.csv").read_text() == "kept\n"


def _run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real entry point, in a process of its own (a cluster's workers
    are other processes)."""
    return subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_scheduler_runs_the_parts_here_without_importing_dask(parts, tmp_path):
    probe = (
        "import sys; from cgrad.cli import main\n"
        f"sys.argv = ['cgrad', 'batch', 'parts', '-e', {EXPRESSION!r}, '-o', 'out']\n"
        "try:\n    main()\nexcept SystemExit as end:\n    status = end.code\n"
        "dask = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
        "print(status, dask)"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True
    )
    assert (run.stdout, run.stderr) == ("0 []\n", "")
    assert sorted(os.listdir(tmp_path / "out")) == ["a.csv", "b.csv", "c.ndjson"]


@pytest.fixture(scope="module")
def cluster():
    """A small Dask cluster of worker processes, shut down after the module."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as local:
        yield local


def test_the_parts_on_a_dask_cluster_are_the_bytes_of_a_run_here(bad_parts, tmp_path, cluster):
    here = _run("parts", "-e", EXPRESSION, "-o", "here", cwd=tmp_path)
    there = _run(
        "parts",
        "-e",
        EXPRESSION,
        "-o",
        "there",
        "--scheduler",
        cluster.scheduler_address,
        cwd=tmp_path,
    )
    assert here.returncode == there.returncode == 1
    assert here.stderr == there.stderr != ""
    assert _files(tmp_path / "here") == _files(tmp_path / "there")
    assert list(_files(tmp_path / "there")) == ["a.csv", "b.csv", "c.ndjson"]


def test_scheduler_local_starts_a_cluster_here(parts, tmp_path):
    here = _run("parts/*", "-e", EXPRESSION, "-o", "here", "--format", "csv", cwd=tmp_path)
    local = _run(
        "parts/*",
        "-e",
        EXPRESSION,
        "-o",
        "local",
        "--format",
        "csv",
        "--scheduler",
        "local",
        cwd=tmp_path,
    )
    assert (here.returncode, here.stderr) == (local.returncode, local.stderr) == (0, "")
    assert _files(tmp_path / "here") == _files(tmp_path / "local")
    assert list(_files(tmp_path / "local")) == ["a.csv", "b.csv", "c.csv"]


def test_a_scheduler_that_cannot_be_reached_is_a_clear_error(parts, tmp_path):
    run = _run("parts", "-e", EXPRESSION, "-o", "out", "--scheduler", "nowhere", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert not (tmp_path / "out").exists()
    message, hint = run.stderr.splitlines()
    assert message.startswith("cgrad: error: cannot reach the Dask scheduler at nowhere: ")
    assert hint == (
        "hint: give the address the scheduler prints (tcp://HOST:8786), or --scheduler local"
    )


def test_an_interrupted_cluster_run_leaves_no_temporary_file(tmp_path, wait_until):
    parts, out = tmp_path / "parts", tmp_path / "out"
    parts.mkdir()
    out.mkdir()
    generator = np.random.default_rng(1)
    for name in ("p0.csv", "p1.csv"):
        # Answered record by record (--chunk-rows 1): far longer than the test.
        np.savetxt(
            parts / name,
            generator.normal(size=(300_000, 3)),
            delimiter=",",
            header="x,y,z",
            comments="",
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", "parts", "-e", EXPRESSION, "-o", "out"]
        + ["--scheduler", "local", "--chunk-rows", "1"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: [p for p in out.glob(".*.tmp") if p.stat().st_size],
            "a part written",
            out,
            process,
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()
    # The workers were shut down mid-part; what they had written is removed.
    assert (process.returncode, stderr.strip(), os.listdir(out)) == (143, "", [])


def test_a_task_the_cluster_cannot_run_is_a_clear_error_naming_the_part(cluster, tmp_path):
    from cgrad.batch import partitions

    # Paths cannot be multiplied: the task fails on the worker, as it would
    # on a worker without cgrad.
    plan = [(Path("parts/a.csv"), tmp_path / "a.csv")]
    with pytest.raises(cgrad.UsageError) as raised:
        partitions.run_parts(plan, operator.mul, cluster.scheduler_address)
    assert str(raised.value) == (
        "parts/a.csv: the task failed on the Dask cluster: TypeError: unsupported operand "
        "type(s) for *: 'PosixPath' and 'PosixPath'\n"
        "hint: every worker needs cgrad installed, the version that runs here"
    )


@pytest.mark.parametrize(
    ("name", "extension", "written"),
    [
        ("a.csv", None, "a.csv"),
        ("a.csv", ".ndjson", "a.ndjson"),
        ("a.csv.gz", ".ndjson", "a.ndjson"),
        ("points.2024-01.csv", ".json", "points.2024-01.json"),
        ("part-00000", ".csv", "part-00000.csv"),
    ],
)
def test_an_output_part_keeps_the_base_name(name, extension, written):
    from cgrad.batch import partitions

    assert partitions.output_name(Path("parts", name), extension) == written


def test_a_file_whose_name_looks_like_a_glob_is_one_file(tmp_path, monkeypatch):
    from cgrad.batch import partitions

    monkeypatch.chdir(tmp_path)
    Path("odd[1].csv").write_text("x\n1\n")
    Path("parts").mkdir()
    assert not partitions.is_partitioned("odd[1].csv")
    assert partitions.is_partitioned("odd[2].csv") and partitions.is_partitioned("parts")
    assert not partitions.is_partitioned("-") and not partitions.is_partitioned(None)


def test_every_option_of_the_command_reaches_each_part():
    """A part is run from a FileJob: an option of ``cgrad batch`` that is not
    one of its fields (nor made into one) would be lost for parts."""
    import dataclasses
    import inspect

    from cgrad.cli import batch_command, batch_files

    options = set(inspect.signature(batch_command.batch_command).parameters)
    # Read before the parts are run: what names them, where they go, where
    # they run, and what becomes the job's function, wrt_names and bindings
    # (the values, --column mappings and --params, read from the command line).
    made_into_fields = {"source", "output", "scheduler", "expression", "program", "wrt"}
    made_into_fields |= {"context", "variables", "columns", "params"}
    fields = {field.name for field in dataclasses.fields(batch_files.FileJob)}
    assert options - made_into_fields <= fields


@pytest.fixture
def readings(tmp_path, monkeypatch):
    """Parts whose columns are named unlike the inputs, and a program file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "readings").mkdir()
    (tmp_path / "readings" / "north.csv").write_text("temp C,hours,station\n12.5,3,n1\n-4,5,n2\n")
    (tmp_path / "readings" / "south.csv").write_text("temp C,hours,station\n7.25,0.5,s1\n")
    (tmp_path / "heat.cg").write_text("u = k*t; u*h^2\n")
    return tmp_path / "readings"


# FLEX's options: a value, column mappings, the program from a file, --hessian.
FLEX = ("-e", "@heat.cg", "k=0.5", "--column", "t=temp C", "--column", "h=hours", "--hessian")


def test_values_columns_program_and_hessian_reach_every_part(cli, readings, tmp_path):
    result = cli("batch", "readings", *FLEX, "-o", "out")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    written = _files(tmp_path / "out")
    (tmp_path / "single").mkdir()
    for part in _data(readings):
        alone = cli("batch", str(part), *FLEX, "-o", str(tmp_path / "single" / part.name))
        assert alone.exit_code == 0
    assert written == _files(tmp_path / "single")
    assert written["south.csv"].decode().splitlines() == [
        "row,k,t,h,station,value,grad_k,grad_t,grad_h,hessian_k_k,hessian_k_t,hessian_k_h,"
        "hessian_t_k,hessian_t_t,hessian_t_h,hessian_h_k,hessian_h_t,hessian_h_h,error,warnings",
        "1,0.5,7.25,0.5,s1,0.90625,1.8125,0.125,3.625,0.0,0.25,7.25,0.25,0.0,0.5,7.25,0.5,7.25,,",
    ]


def test_the_command_line_options_reach_the_parts_on_a_cluster(readings, tmp_path, cluster):
    here = _run("readings", *FLEX, "-o", "here", "--format", "ndjson", cwd=tmp_path)
    there = _run(
        "readings", *FLEX, "-o", "there", "--format", "ndjson",
        "--scheduler", cluster.scheduler_address, cwd=tmp_path,
    )  # fmt: skip
    assert (here.returncode, here.stderr) == (there.returncode, there.stderr) == (0, "")
    assert _files(tmp_path / "here") == _files(tmp_path / "there")
    assert list(_files(tmp_path / "there")) == ["north.ndjson", "south.ndjson"]
    assert b'"hessian": {"k": {"k": 0.0' in _files(tmp_path / "there")["south.ndjson"]


@pytest.fixture
def logs(tmp_path, monkeypatch):
    """Parts where log(x) is NaN: none in a, rows 1 and 3 of b, row 2 of c."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    for name, xs in (("a", "1 2"), ("b", "-1 3 -2"), ("c", "4 -5")):
        lines = ["x", *xs.split()]
        (tmp_path / "logs" / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "logs"


LOG_NAN = "cgrad: warning: `log(x)` (node @1, line 1, column 1) is NaN"


def test_the_warnings_of_all_parts_are_one_summary_naming_the_part(cli, logs, tmp_path):
    result = cli("batch", "logs", "-e", "log(x)", "-o", "out")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"{LOG_NAN} for 3 rows, first at logs/b.csv row 1\n"
    quiet = cli("batch", "logs", "-e", "log(x)", "-o", "quiet", "--quiet")
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    # Each part's warnings are its own rows' words, as for the file alone.
    alone = cli("batch", str(logs / "c.csv"), "-e", "log(x)", "-o", "c.csv")
    assert alone.stderr == f"{LOG_NAN} at row 2\n"
    assert (tmp_path / "out" / "c.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()


def test_the_warning_summary_of_a_cluster_run_is_the_one_of_a_run_here(logs, tmp_path, cluster):
    here = _run("logs", "-e", "log(x)", "-o", "here", cwd=tmp_path)
    there = _run(
        "logs", "-e", "log(x)", "-o", "there", "--scheduler", cluster.scheduler_address,
        cwd=tmp_path,
    )  # fmt: skip
    assert here.returncode == there.returncode == 0
    assert here.stderr == there.stderr == f"{LOG_NAN} for 3 rows, first at logs/b.csv row 1\n"
    assert _files(tmp_path / "here") == _files(tmp_path / "there")


def test_an_output_part_may_not_replace_the_program(cli, parts, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.csv").write_text(EXPRESSION + "\n")
    result = cli("batch", "parts", "-e", "@out/b.csv", "-o", "out")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "cgrad: error: -o out/b.csv would replace the program\nhint: write to another directory\n"
    )
    assert os.listdir(tmp_path / "out") == ["b.csv"]
    assert (tmp_path / "out" / "b.csv").read_text() == EXPRESSION + "\n"
