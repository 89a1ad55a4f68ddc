"""A parameters file, as ``cgrad fit -o params.json`` writes it: one JSON
object of names to numbers, which ``cgrad batch --params`` reads back."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..composed_names import composed
from ..errors import UsageError

# A parameters file larger than this is not one (and must not fill memory).
MAX_PARAMS_BYTES = 16 << 20


def read_params(path: Path) -> dict[str, float]:
    """The numbers of a parameters file, by name; a usage error naming the
    file for anything else."""
    try:
        with open(path, "rb") as stream:
            text = stream.read(MAX_PARAMS_BYTES + 1)
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}", type="file_error"
        ) from None
    if len(text) > MAX_PARAMS_BYTES:
        raise UsageError(f"{path} is too large for a parameters file", type="input_error")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UsageError(f"{path} is not JSON: {error}", type="input_error") from None
    if not isinstance(document, dict):
        raise UsageError(
            f"{path} must hold one JSON object of names to numbers, as cgrad fit -o writes",
            type="input_error",
        )
    params = {}
    for name, value in document.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(
                f"{path}: the value of {name} is not a number: {json.dumps(value)[:40]}",
                type="input_error",
            )
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float64
            number = math.inf
        if not math.isfinite(number):
            raise UsageError(f"{path}: the value of {name} is not finite", type="input_error")
        # Names of the language, read composed as the program's are.
        key = composed(name)
        if key in params:
            raise UsageError(f"{path} gives {key} twice", type="input_error")
        params[key] = number
    return params
