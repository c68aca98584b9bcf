"""rdd package."""
