"""One file per schema change, oldest first; each must be additive where it can be."""
