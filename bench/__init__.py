"""Benchmarks: ``make bench-<area>``. They print tables; bench/README.md says what each figure means."""
