// Data loading tests.
