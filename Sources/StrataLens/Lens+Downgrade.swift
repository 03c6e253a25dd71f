import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// Going back down a lens: what `strata seed`, `Seeder`, a rollback (`Migrator` with an
/// older target) and `strata lens check` use.
///
/// A step is undone either by its own down function (`"down": "name"`, registered with
/// `LensFunctions.registerDown`) or operation by operation, in reverse: each operation's
/// `downgrade`, where a `custom` operation needs a down function registered under its
/// function's name. `undoBlockers` says, before anything is touched, which steps cannot
/// be undone with the functions at hand and what each needs.
extension Lens {
    /// Turns a document of a newer known version back into version `target`.
    /// Throws when a step cannot be undone, naming the document and the operation.
    public func downgrade(_ doc: Document, to target: Int, context: LensContext = LensContext()) throws -> Document {
        let version = try knownVersion(of: doc)
        guard target <= version, knownVersions.contains(target) else {
            throw StrataError(.badInput, "cannot down-migrate document \(idText(doc)) from version \(version) to \(target)")
        }
        var out = doc
        for step in steps(from: target, to: version).reversed() {
            let operations = step.allOperations(versionField: versionField, absentMeans: absentMeans)
            if let name = step.down {
                guard let f = context.functions.down(name) else {
                    throw StrataError(.upgradeFailed,
                                      "cannot down-migrate document \(idText(doc)): step \(step.from) → \(step.to) is undone by the down function '\(name)', which is not registered (LensFunctions.registerDown)",
                                      at: step.location.appending("down"))
                }
                do {
                    try f(&out, step.declaredReads, step.declaredWrites)
                    // The version stamp is strata's, whatever the function did with it.
                    try operations.last!.downgrade(&out, context: context)
                } catch let e as StrataError {
                    throw StrataError(.upgradeFailed, "cannot down-migrate document \(idText(doc)): down function '\(name)': \(e.message)",
                                      at: e.location ?? step.location.appending("down"))
                }
                continue
            }
            for op in operations.reversed() {
                do { try op.downgrade(&out, context: context) } catch let e as StrataError {
                    throw StrataError(.upgradeFailed, "cannot down-migrate document \(idText(doc)): \(e.message)", at: e.location ?? op.location)
                }
            }
        }
        return out
    }

    /// How exactly versions `target`...`version` can be undone by the lens's own
    /// operations: the first impossible or lossy operation decides.
    public func downgradeInvertibility(from version: Int, to target: Int) -> Invertibility {
        var result = Invertibility.exact
        for op in operations(from: target, to: version) {
            switch op.invertibility {
            case .impossible(let why): return .impossible("\(op.name) at \(op.location): \(why)")
            case .lossy(let why): if result == .exact { result = .lossy("\(op.name) at \(op.location): \(why)") }
            case .exact: break
            }
        }
        return result
    }

    /// Why documents at `version` cannot be moved down to `target` with `functions`:
    /// one entry per step or operation that has no way back, saying what it needs.
    /// Empty when every step can be undone (exactly, lossily or by a down function; a
    /// document a lossy undo or a down function gets wrong is caught by the caller's
    /// round-trip check, not here).
    public func undoBlockers(from version: Int, to target: Int, functions: LensFunctions) -> [UndoBlocker] {
        var blockers: [UndoBlocker] = []
        for step in steps(from: target, to: version) {
            if let name = step.down {
                if functions.down(name) == nil {
                    blockers.append(UndoBlocker(from: step.from, to: step.to, location: step.location.appending("down"),
                                                reason: "the step is undone by the down function '\(name)'",
                                                needs: "register a down function named '\(name)' (LensFunctions.registerDown)"))
                }
                continue
            }
            for op in step.operations {
                if let custom = op as? CustomOperation {
                    if functions.down(custom.function) == nil {
                        blockers.append(UndoBlocker(from: step.from, to: step.to, location: op.location,
                                                    reason: "custom '\(custom.function)' is an application-defined function with no inverse",
                                                    needs: "register a down function named '\(custom.function)' (LensFunctions.registerDown), or name a down function for the step (\"down\": \"name\")"))
                    }
                } else if case .impossible(let why) = op.invertibility {
                    blockers.append(UndoBlocker(from: step.from, to: step.to, location: op.location,
                                                reason: "\(op.name): \(why)",
                                                needs: "name a down function for the step (\"down\": \"name\" in the lens file) and register it (LensFunctions.registerDown)"))
                }
            }
        }
        return blockers
    }

    /// The operation (or step) whose undo loses what a document held, for messages: the
    /// first lossy operation of the steps between `target` and `version`, or the step
    /// with a down function.
    public func lossyUndo(from version: Int, to target: Int) -> (location: Location, reason: String)? {
        for step in steps(from: target, to: version).reversed() {
            if let name = step.down { return (step.location.appending("down"), "down function '\(name)'") }
            for op in step.operations.reversed() {
                if case .lossy(let why) = op.invertibility { return (op.location, "\(op.name): \(why)") }
                if let custom = op as? CustomOperation { return (op.location, "down function '\(custom.function)'") }
            }
        }
        return nil
    }
}

/// A step or operation with no way back down, and what would give it one.
public struct UndoBlocker: Sendable, CustomStringConvertible {
    /// The step's versions.
    public let from: Int
    public let to: Int
    /// Where the step or operation is declared.
    public let location: Location
    /// Why it cannot be undone.
    public let reason: String
    /// What would let it be undone.
    public let needs: String

    public var description: String {
        "step \(from) → \(to) (\(location)): \(reason); to move documents below version \(to): \(needs)"
    }
}
