"""Syntax tree to values and derivatives: the graph builder, the forward and
backward passes, the strategy that runs them over floats or arrays (with
generated code for big arrays), and the diagnostics of non-finite values and
kinks."""
