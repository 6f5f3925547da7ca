// Interp module.
