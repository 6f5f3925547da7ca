// Circuits module.
