// Filled in by the data loading work.
