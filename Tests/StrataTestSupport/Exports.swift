// The comparisons the tests use (`BSONComparison`, `ResultComparison`) live in the
// library (StrataEvaluator), where `strata bench` uses them too.
@_exported import StrataEvaluator
