"""Results made readable: Rich renderables for the terminal, JSON documents,
and drawings (DOT, Mermaid). Views read library results; the library never
imports them."""
