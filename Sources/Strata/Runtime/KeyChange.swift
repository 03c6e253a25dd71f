import Foundation
import StrataBSON
import StrataEvaluator
import StrataMongo
import Synchronization

/// When the runtime uses multi-document transactions.
public enum TransactionUse: String, Sendable, CaseIterable {
    /// Where the server offers them (a replica set or mongos).
    case automatic = "auto"
    /// Always (fails on a standalone server).
    case always
    /// Never: key changes insert the new document, then delete the old one.
    case never
}

/// Caches what the server offers (one `hello` per repository or migrator).
final class CapabilityCache: Sendable {
    private let value = Mutex<ServerCapabilities?>(nil)

    func get(_ database: MongoDatabase) throws -> ServerCapabilities {
        if let cached = value.withLock({ $0 }) { return cached }
        let v = try database.capabilities()
        value.withLock { $0 = v }
        return v
    }

    func transactions(_ use: TransactionUse, _ database: MongoDatabase) throws -> Bool {
        switch use {
        case .never: return false
        case .always: return true
        case .automatic: return try get(database).supportsTransactions
        }
    }
}

/// Moving a document to a new primary key: the new document is inserted and the old
/// one deleted, never losing it.
///
/// - With a transaction: inside one transaction, the new key is checked (a document
///   already there that is not exactly the replacement is a collision), the old
///   document is emptied to `{_id}` if unchanged since it was read (the guard; a
///   changed one aborts: conflict), deleted, and the new one inserted.
/// - Without: insert the new one first (a document already there equal to the
///   replacement is taken as our own earlier insert, so a re-run after a crash
///   continues), then delete the old one if unchanged. If the old one changed or
///   vanished meanwhile, the insert is undone (only if the new one is still exactly
///   what was inserted) and the move reported as a conflict. At every moment at least
///   one of the two exists; a crash between the two steps leaves both, and the next
///   run (or read, which prefers the document at the new key) finishes the move.
struct KeyMove {
    let collection: MongoCollection
    let useTransaction: Bool

    enum Outcome: Equatable {
        case moved
        /// The old document changed (or vanished) since it was read: retry later.
        case conflict(String)
        /// Another document already holds the new key.
        case collision(String)
    }

    private struct Abort: Error { let outcome: Outcome }

    func move(from stored: Document, to replacement: Document) throws -> Outcome {
        useTransaction ? try moveInTransaction(stored, replacement) : try moveInOrder(stored, replacement)
    }

    func collisionMessage(_ newId: BSON?, _ oldId: BSON?) -> String {
        "another document already has _id \(idText(newId)), the key document \(idText(oldId)) gets at the newest version"
    }

    private func moveInTransaction(_ stored: Document, _ replacement: Document) throws -> Outcome {
        let name = collection.name
        let oldId = stored["_id"], newId = replacement["_id"]
        do {
            try collection.database.withTransaction { txn in
                let existing = try txn.find(name, GuardedWrite.idFilter(newId ?? .null), limit: 1).first
                if let existing, existing != replacement {
                    throw Abort(outcome: .collision(collisionMessage(newId, oldId)))
                }
                let r = try txn.update(name, [GuardedWrite.tombstoneStatement(expected: stored)])
                if r.modified == 0 {
                    // Changed — or a document the server's equality cannot compare (a NaN): look.
                    guard let current = try txn.find(name, GuardedWrite.idFilter(oldId ?? .null), limit: 1).first,
                          GuardedWrite.identical(current, stored)
                    else { throw Abort(outcome: .conflict("document \(idText(oldId)) changed since it was read")) }
                }
                _ = try txn.delete(name, GuardedWrite.idFilter(oldId ?? .null))
                if existing == nil { try txn.insert(name, [replacement]) }
            }
        } catch let a as Abort {
            return a.outcome
        } catch let e as MongoError where e.isDuplicateKey {
            return .collision("the document \(idText(oldId)) at its new key \(idText(newId)) violates a unique index: \(e.message)")
        }
        return .moved
    }

    private func moveInOrder(_ stored: Document, _ replacement: Document) throws -> Outcome {
        let oldId = stored["_id"], newId = replacement["_id"]
        var inserted = false
        if let existing = try collection.findOne(GuardedWrite.idFilter(newId ?? .null)) {
            if existing != replacement { return .collision(collisionMessage(newId, oldId)) }
        } else {
            do {
                try collection.insertOne(replacement)
                inserted = true
            } catch let e as MongoError where e.isDuplicateKey {
                // Someone inserted at the new key meanwhile, or a unique index refuses it.
                if let existing = try collection.findOne(GuardedWrite.idFilter(newId ?? .null)), existing == replacement {
                    // The same document: carry on with the delete.
                } else {
                    return .collision("the document \(idText(oldId)) at its new key \(idText(newId)) violates a unique index: \(e.message)")
                }
            }
        }
        let deleted = try collection.delete(GuardedWrite.deleteFilter(expected: stored), limitOne: true)
        if deleted == 1 { return .moved }
        // The old document changed or vanished since it was read: undo our insert.
        if inserted {
            _ = try collection.delete(GuardedWrite.deleteFilter(expected: replacement), limitOne: true)
        }
        return .conflict("document \(idText(oldId)) changed since it was read")
    }
}

extension Lens {
    /// A filter over the stored documents that finds every document at a legacy version
    /// whose `_id` becomes `key` at the newest version (a superset: check each by
    /// upgrading it). `nil` when the lens never changes `_id`.
    ///
    /// Per version whose upgrade changes `_id`:
    /// - every `_id` conversion from there has an exact inverse: `_id` equals the inverse
    ///   of `key` (an index lookup);
    /// - one conversion that is `$toLower` or `$toUpper` of the value (no inverse: many
    ///   spellings map to one key): a case-insensitive anchored regex on `_id`, plus
    ///   `_id`s that are not strings (the conversion turns numbers into strings). On mongod
    ///   that is a scan of the whole `_id` index (keys only, no document fetched);
    /// - otherwise: `$expr` comparing the conversion of `_id` with `key` (a collection scan
    ///   of that version).
    package func legacyKeyFilter(for key: BSON) -> Document? {
        var branches: [BSON] = []
        for version in knownVersions where version < newest && changesPrimaryKey(from: version) {
            branches.append(.document(["$and": [.document(filter(forVersion: version)), .document(keyCandidates(key, atVersion: version))]]))
        }
        if branches.isEmpty { return nil }
        return branches.count == 1 ? branches[0].documentValue! : ["$or": .array(branches)]
    }

    /// The `_id` conversions applied to a document stored at `version`.
    func keyConversions(from version: Int) -> [ConvertOperation] {
        steps(from: version).flatMap(\.operations).compactMap { op in
            guard let c = op as? ConvertOperation, c.field == ["_id"] else { return nil }
            return c
        }
    }

    func keyCandidates(_ key: BSON, atVersion version: Int) -> Document {
        let conversions = keyConversions(from: version)
        if !conversions.isEmpty, conversions.allSatisfy({ $0.inverse != nil && $0.inverseExact }) {
            // Through the inverses, each checked to round-trip (a claimed-exact inverse
            // that rounds would look up the wrong stored key and miss the document).
            var value: BSON? = key
            for c in conversions.reversed() {
                func apply(_ e: Expr, _ v: BSON) -> BSON? { (try? Evaluator.evaluate(e, ["_id": v], Variables(["value": v]))) ?? nil }
                guard let v = value else { break }
                value = InverseEquality.storedValue(for: v, forward: { apply(c.expr, $0) }, inverse: { apply(c.inverse!, $0) })
            }
            if let value { return ["_id": ["$eq": value]] }
        }
        if conversions.count == 1, case .op(let op, .positional(let args)) = conversions[0].expr,
           op == "$toLower" || op == "$toUpper", args.count == 1, args[0] == .variable("value", []),
           case .string(let s) = key
        {
            return ["$or": [
                ["_id": ["$regex": .string("^" + Self.regexEscape(s) + "$"), "$options": "i"]],
                ["_id": ["$not": ["$type": "string"]]],
            ]]
        }
        let translated = translate(.fieldPath(["_id"]), atVersion: version).expr ?? .fieldPath(["_id"])
        return ["$expr": ["$eq": [translated.bson, ["$literal": key]]]]
    }

    static func regexEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            if "\\^$.|?*+()[]{}".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
