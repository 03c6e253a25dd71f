import XCTest

final class StrataLensTestsPlaceholder: XCTestCase {}
