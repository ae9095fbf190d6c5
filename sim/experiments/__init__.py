"""Running scenarios as batches: the runner, the result store and the bundled demo."""
