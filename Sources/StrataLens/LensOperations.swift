import StrataBSON
import StrataEvaluator

/// The registry of operation kinds: `"op"` name → parser.
public enum LensOperations {
    static let parsers: [String: @Sendable (ArgumentReader) throws -> any LensOperation] = [
        "rename": RenameOperation.parse,
        "nest": NestOperation.parse,
        "unnest": UnnestOperation.parse,
        "wrap": WrapOperation.parse,
        "add": AddFieldOperation.parse,
        "remove": RemoveFieldOperation.parse,
        "convert": ConvertOperation.parse,
        "lookup": LookupOperation.parse,
        "custom": CustomOperation.parse,
        "map": ScopedOperation.parseMap,
        "in": ScopedOperation.parseIn,
    ]

    static func parse(_ value: BSON, at loc: Location) throws -> any LensOperation {
        guard case .document(let doc) = value else {
            throw StrataError.badInput("an operation must be an object {\"op\": \"rename\", ...}", at: loc)
        }
        guard let opValue = doc["op"] else {
            throw StrataError.badInput("an operation needs 'op' (one of \(parsers.keys.sorted().joined(separator: ", ")))", at: loc)
        }
        guard case .string(let name) = opValue else {
            throw StrataError.badInput("'op' must be a string", at: loc.appending("op"))
        }
        guard let parser = parsers[name] else {
            throw StrataError.badInput("unknown operation '\(name)' (known: \(parsers.keys.sorted().joined(separator: ", ")))",
                                       at: loc.appending("op"))
        }
        return try parser(ArgumentReader(doc, at: loc, what: "operation '\(name)'"))
    }
}
