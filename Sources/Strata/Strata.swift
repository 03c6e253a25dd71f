@_exported import StrataEvaluator
@_exported import StrataLens
@_exported import StrataMongo
