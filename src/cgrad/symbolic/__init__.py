"""Derivatives as formulas: the backward pass run on graph nodes instead of
numbers, and the formulas printed as text the language parses back."""
