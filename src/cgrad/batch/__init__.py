"""Many points at once: reading records from CSV, TSV, NDJSON and JSON in
bounded memory, evaluating them in column blocks, and writing the results."""
