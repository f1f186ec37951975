// Placeholder until this family's kernels land.
