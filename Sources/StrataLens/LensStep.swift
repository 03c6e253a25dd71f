import StrataEvaluator

/// The operations that turn version `from` into version `to` (= from + 1).
public struct LensStep: Sendable {
    public let from: Int
    public var to: Int { from + 1 }
    public let operations: [any LensOperation]
    /// When the runtime writes a document upgraded through this step back.
    public let writeBack: WriteBackPolicy
    /// Where the step is declared, for messages.
    public let location: Location

    public init(from: Int, operations: [any LensOperation], writeBack: WriteBackPolicy = .whenExpensive, location: Location) {
        self.from = from
        self.operations = operations
        self.writeBack = writeBack
        self.location = location
    }
}
