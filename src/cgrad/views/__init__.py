"""Results made readable, each module named for what it makes:
``terminal_*.py`` build Rich renderables for the terminal (the tree, the
tables, the steps, each command's report), ``json_documents.py`` the JSON
documents, ``drawings.py`` Graphviz DOT and Mermaid, and ``node_names.py``
the plain facts they share. Views read library results and print nothing;
the library never imports them."""
