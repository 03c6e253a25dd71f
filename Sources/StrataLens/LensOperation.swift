import StrataEvaluator

/// One declarative operation of a lens step. Each knows how to (a) upgrade a
/// document in Swift, (b) upgrade documents on the server as aggregation
/// stages, (c) say where a field of the newer version comes from in the older
/// one, and (d) undo itself — or declares that it cannot.
public protocol LensOperation: Sendable {
    /// The operation's name in the schema file ("rename", "nest", ...).
    var name: String { get }
    /// Where it is declared in the schema file.
    var location: Location { get }
}
