"""pyarrow as the command line loads it: without pandas, and without the
signal handler pyarrow swaps in while it reads (which, passing a Ctrl-C on
to the command's own handler, now and then lost it)."""

from __future__ import annotations

import subprocess
import sys

from cgrad.cli import fit_command

# In a process of its own: pyarrow's switch is for the whole process.
_LOADED = """
import sys
import pyarrow as pa
switches = []
pa.enable_signal_handlers = switches.append
from cgrad.cli.arrow_loading import load_arrow_without_pandas
load_arrow_without_pandas()
print(switches, "pandas" in sys.modules)
"""


def test_the_command_line_loads_pyarrow_without_its_signal_handlers_or_pandas():
    run = subprocess.run(
        [sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == ["[False]", "False"]


def test_a_fit_reads_its_data_with_pyarrow_loaded_so(cli, tmp_path, monkeypatch):
    loads: list[None] = []
    monkeypatch.setattr(fit_command, "load_arrow_without_pandas", lambda: loads.append(None))
    data = tmp_path / "rows.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(20)))
    result = cli("fit", "w*x + b", str(data), "--target", "y", "--epochs", "3", "--json", "-q")
    assert result.exit_code == 0, result.output
    assert loads == [None]
