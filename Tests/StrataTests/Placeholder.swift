import XCTest

final class StrataTestsPlaceholder: XCTestCase {}
