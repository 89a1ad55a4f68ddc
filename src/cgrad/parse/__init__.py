"""Text to syntax tree: the AST, the grammar's callbacks and limits, the fast
LALR loop over shipped tables, and the Lark parser that explains mistakes.

Knows nothing of graphs, derivatives, files or output.
"""
