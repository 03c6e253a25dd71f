// The user-facing modules: the BSON value model documents are built with, and the lens.
// The evaluator, the libbson codec and the driver are imported by name where they are used.
@_exported import StrataBSON
@_exported import StrataLens
