import StrataBSON
import StrataEvaluator
import StrataMongo

extension VersionedCollection {
    /// Runs a pipeline written for the newest schema whose last stage is `$out` or `$merge`,
    /// with mongod's semantics over the collection as if it were fully migrated: the
    /// pipeline without its last stage is planned and run as any query, its results are
    /// written as that stage says, and what was written comes back as a `WriteSummary`.
    ///
    /// - `$out` replaces the target in one step, keeping its indexes (`OutReplacement`).
    /// - `$merge` is run by the server over the results (`ServerMerge`), except
    ///   `whenMatched: "merge"` or a pipeline into a target with a lens of its own, which
    ///   strata applies to the upgraded documents (`VersionedMerge`).
    /// - Into a target with a lens, written documents are stamped with its newest version.
    ///
    /// Refused before anything is read (`.badInput`): writing into this collection itself,
    /// `on` fields without a unique index on the target, `on` fields the target's lens
    /// moves. Temporary collections are dropped whatever happens.
    public func write(_ query: ParsedQuery) throws -> WriteSummary {
        guard let output = query.output else {
            throw StrataError.badInput("the pipeline does not end in $out or $merge: run it with aggregate", at: query.spec.pipelineLocation)
        }
        let target = try WriteTarget.resolve(output, source: self)
        if output.kind == .merge { try target.checkUniqueIndex(output) }
        let sink = try makeSink(output, target: target)
        defer { sink.cleanUp() }
        let statistics = try runner.run(query.readPart, versionedCollections: versionedCollections) { doc in
            try sink.add(doc)
            return true
        }
        var summary = try sink.finish()
        summary.statistics = statistics
        return summary
    }

    /// Parses and runs a writing pipeline (`write(_:)`); `file` names it in messages.
    public func write(_ pipeline: [BSON], file: String? = nil) throws -> WriteSummary {
        try write(try ParsedQuery(QuerySpec(collection: name, pipeline: pipeline, file: file)))
    }

    public func write(_ pipeline: [BSON]) async throws -> WriteSummary {
        let me = self
        return try await runBlocking { try me.write(pipeline) }
    }

    func makeSink(_ output: OutputStage, target: WriteTarget) throws -> ResultSink {
        switch output.kind {
        case .out:
            return try OutReplacement(target: target, output: output)
        case .merge:
            switch (target.lens, output.whenMatched) {
            case (let lens?, .merge), (let lens?, .pipeline):
                return try VersionedMerge(target: target, lens: lens, output: output)
            default:
                return ServerMerge(target: target, output: output)
            }
        }
    }
}
