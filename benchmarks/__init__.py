"""smsgrid benchmarks: figures and ratios against this machine's own ceiling, measured in the same run."""
