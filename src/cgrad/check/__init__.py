"""The gradient checker: cgrad's derivatives against finite differences,
with steps that never cross an op's edge, and a verdict per partial."""
