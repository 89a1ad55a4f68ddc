"""``python -m cgrad``."""

from .cli import main

main()
