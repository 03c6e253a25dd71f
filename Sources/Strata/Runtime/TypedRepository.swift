import Foundation
import StrataBSON
import StrataEvaluator

/// `VersionedRepository` with Codable models: documents are read at the newest version
/// and decoded (`BSONDecoder`); a save encodes the model *over* the document it was read
/// as (`BSONEncoder.encode(_:over:)`), so fields the model does not declare are kept, and
/// writes it with the same guard as `VersionedRepository.save`.
///
///     struct User: Codable, Sendable { var _id: Int; var name: Name; var logins: Int; var contacts: [Contact] }
///     let users = TypedRepository<User>(try VersionedRepository(database: db, lens: lens))
///     var u = try users.findOne(byId: 42)!
///     u.value.logins += 1
///     try users.save(u)
public struct TypedRepository<Model: Codable & Sendable>: Sendable {
    public let base: VersionedRepository

    public init(_ base: VersionedRepository) { self.base = base }

    /// A decoded model and the document it came from (its guard for `save`).
    public struct Record: Sendable {
        public var value: Model
        public let source: VersionedDocument
    }

    func record(_ v: VersionedDocument) throws -> Record {
        do {
            return Record(value: try BSONDecoder().decode(Model.self, from: v.document), source: v)
        } catch let e as DecodingError {
            throw StrataError.badInput("document \(idText(v.id)) of '\(base.lens.collection)' does not decode as \(Model.self): \(Self.describe(e))")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.isEmpty ? "" : " at " + c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): return c.debugDescription + path(c)
        case .keyNotFound(let k, let c): return "no field '\(k.stringValue)'" + path(c)
        @unknown default: return "\(e)"
        }
    }

    public func find(_ filter: Document = [:], sort: Document? = nil, skip: Int = 0, limit: Int? = nil) throws -> [Record] {
        try base.find(filter, sort: sort, skip: skip, limit: limit).map(record)
    }

    public func findOne(_ filter: Document = [:], sort: Document? = nil) throws -> Record? {
        try base.findOne(filter, sort: sort).map(record)
    }

    public func findOne(byId key: BSON) throws -> Record? {
        try base.findOne(byId: key).map(record)
    }

    /// Saves the model over the document it was read as (guarded: `.conflict` when the
    /// stored document changed since).
    @discardableResult
    public func save(_ r: Record) throws -> Record {
        var v = r.source
        v.document = try BSONEncoder().encode(r.value, over: r.source.document)
        return try record(try base.save(v))
    }

    /// Inserts the model as a newest-version document.
    @discardableResult
    public func insert(_ value: Model) throws -> Record {
        try record(try base.insert(try BSONEncoder().encode(value)))
    }
}
