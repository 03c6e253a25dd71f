import StrataBSON

extension OutputStage {
    /// What explain says of the final stage: the stage as written and how strata writes it.
    /// `versionedTarget` nil: not known (offline).
    package func explainDocument(versionedTarget: Bool?) -> Document {
        let how: String
        switch kind {
        case .out:
            how = "the results go into a temporary collection of the target's database, created with the target's options and indexes, which then replaces the target (renameCollection with dropTarget)"
        case .merge:
            switch (versionedTarget, whenMatched) {
            case (true?, .merge), (true?, .pipeline):
                how = "the results are spooled into a temporary collection; each is then applied in Swift to its target document upgraded to the newest version, stamped, and written with the repository's guard"
            default:
                how = "the results are spooled into a temporary collection, which the server's $merge then writes into the target"
                    + (versionedTarget == true ? " (each stamped with the target lens's newest version)" : "")
            }
        }
        var d: Document = ["stage": bson, "writes": .string(how)]
        if let versionedTarget { d["versionedTarget"] = .bool(versionedTarget) }
        return d
    }
}
