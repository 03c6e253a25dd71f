import StrataEvaluator

/// The operations that turn version `from` into version `to` (= from + 1).
public struct LensStep: Sendable {
    public let from: Int
    public var to: Int { from + 1 }
    public let operations: [any LensOperation]
    /// When the runtime writes a document upgraded through this step back.
    public let writeBack: WriteBackPolicy
    /// The down function that undoes the whole step (`"down": "name"`), registered by
    /// the application with `LensFunctions.registerDown`; `nil`: the operations undo
    /// themselves one by one.
    public let down: String?
    /// Where the step is declared, for messages.
    public let location: Location

    public init(from: Int, operations: [any LensOperation], writeBack: WriteBackPolicy = .whenExpensive,
                down: String? = nil, location: Location) {
        self.from = from
        self.operations = operations
        self.writeBack = writeBack
        self.down = down
        self.location = location
    }

    /// What the step's operations read (of the older document) and write (of the newer).
    var declaredReads: [[String]] { operations.flatMap(\.reads) }
    var declaredWrites: [[String]] { operations.flatMap(\.writes) }
}
