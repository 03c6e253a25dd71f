import XCTest

final class StrataCLITestsPlaceholder: XCTestCase {}
