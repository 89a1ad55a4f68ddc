"""Write the data files of cgrad fit's samples, from a seeded generator, so
that the README can show the generating parameters recovered:

- linear.csv (1,000 rows): y = 3*x1 - 2*x2 + 0.5 + noise (sd 0.1);
  fitted by linear.cg.
- logistic.csv (2,000 rows): y = 1 with probability
  sigmoid(2*x1 - x2 - 0.5), else 0; fitted by logistic.cg with
  --loss logistic.
- network.csv (2,000 rows): y = 1.5*tanh(x1 - 0.5*x2)
  - tanh(0.8*x1 + x2 + 0.3) + 0.2 + noise (sd 0.05); fitted by
  network.cg, the two-layer tanh network of two_layer.cg.

x1 and x2 are standard normal. Run from the repository's root:
    python samples/make_fit_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SEED = 2026


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """The columns as CSV, each number as Python's shortest round trip."""
    names = list(columns)
    lines = [",".join(names)]
    for row in zip(*(column.tolist() for column in columns.values()), strict=True):
        lines.append(",".join(repr(value) for value in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    rng = np.random.default_rng(SEED)
    x1, x2 = rng.standard_normal(1000), rng.standard_normal(1000)
    y = 3 * x1 - 2 * x2 + 0.5 + 0.1 * rng.standard_normal(1000)
    write_csv(HERE / "linear.csv", {"x1": x1, "x2": x2, "y": y})

    x1, x2 = rng.standard_normal(2000), rng.standard_normal(2000)
    odds = 2 * x1 - x2 - 0.5
    y = (rng.random(2000) < 1 / (1 + np.exp(-odds))).astype(float)
    write_csv(HERE / "logistic.csv", {"x1": x1, "x2": x2, "y": y})

    x1, x2 = rng.standard_normal(2000), rng.standard_normal(2000)
    y = 1.5 * np.tanh(x1 - 0.5 * x2) - np.tanh(0.8 * x1 + x2 + 0.3) + 0.2
    y = y + 0.05 * rng.standard_normal(2000)
    write_csv(HERE / "network.csv", {"x1": x1, "x2": x2, "y": y})


if __name__ == "__main__":
    main()
