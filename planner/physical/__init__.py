"""Physical planning: strategies, operators over Arrow batches, compilation to RDDs."""
