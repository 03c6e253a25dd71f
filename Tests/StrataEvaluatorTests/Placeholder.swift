import XCTest

final class StrataEvaluatorTestsPlaceholder: XCTestCase {}
