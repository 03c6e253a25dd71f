import StrataEvaluator

/// The operations that turn version `from` into version `to` (= from + 1).
public struct LensStep: Sendable {
    public let from: Int
    public var to: Int { from + 1 }
    public let operations: [any LensOperation]
    /// Where the step is declared, for messages.
    public let location: Location

    public init(from: Int, operations: [any LensOperation], location: Location) {
        self.from = from
        self.operations = operations
        self.location = location
    }
}
