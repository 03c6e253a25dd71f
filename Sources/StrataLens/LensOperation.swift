import StrataBSON
import StrataEvaluator

/// One declarative operation of a lens step. Each knows how to
/// (a) upgrade a document in Swift,
/// (b) upgrade documents on the server as aggregation stages,
/// (c) say where a path of the newer version comes from in the older one, and
/// (d) undo itself —
/// or declares what it cannot do, so callers refuse or fall back rather than guess.
public protocol LensOperation: Sendable {
    /// The operation's name in the schema file ("rename", "nest", ...).
    var name: String { get }
    /// Where it is declared in the schema file.
    var location: Location { get }

    /// (a) Upgrades one document in Swift.
    func upgrade(_ doc: inout Document, context: LensContext) throws

    /// (b) Aggregation stages that do the same on the server, or `nil` when only Swift can.
    var serverStages: [BSON]? { get }

    /// (c) Where the value at `path` of the newer document comes from in the older document.
    func source(of path: [String]) -> PathSource

    /// (d) Whether `downgrade` gives back exactly the older document.
    var invertibility: Invertibility { get }
    /// (d) Turns a newer document back into the older shape (throws when impossible).
    func downgrade(_ doc: inout Document, context: LensContext) throws

    /// Paths of the older document the operation reads.
    var reads: [[String]] { get }
    /// Paths of the older document the operation removes (moves away or drops).
    var removes: [[String]] { get }
    /// Paths of the newer document the operation writes.
    var writes: [[String]] { get }
    /// When the operation refuses a document (checked in Swift and by `serverStages`).
    var guards: [LensGuard] { get }
    /// A lookup or an application-defined function: costly to redo on every read.
    var isExpensive: Bool { get }
    /// True when the operation changes `_id`.
    var changesPrimaryKey: Bool { get }
}

extension LensOperation {
    public var isExpensive: Bool { false }
    public var changesPrimaryKey: Bool { false }
    public var removes: [[String]] { [] }
    public var writes: [[String]] { [] }
    public var guards: [LensGuard] { LensGuard.standard(reads: reads, removes: removes, writes: writes) }

    func failure(_ message: String) -> StrataError {
        StrataError(.upgradeFailed, "\(name): \(message)", at: location)
    }
}

/// Whether an operation can be undone.
public enum Invertibility: Sendable, Equatable {
    /// Downgrading an upgraded document gives back the original, exactly.
    case exact
    /// Downgrading works but may lose information (the reason says what).
    case lossy(String)
    /// No down-migration exists (the reason says why).
    case impossible(String)

    public var canDowngrade: Bool { if case .impossible = self { return false }; return true }
}
