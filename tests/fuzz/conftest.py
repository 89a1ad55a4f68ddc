"""The fuzzing suite shares the grammar-aware generator of test_oracle."""

import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# `--hypothesis-profile=long` runs the suite at length (see the README);
# without it each fuzz test runs the few hundred to thousands of examples
# it asks for, which CI can afford.
settings.register_profile("long", max_examples=100_000, deadline=None)
