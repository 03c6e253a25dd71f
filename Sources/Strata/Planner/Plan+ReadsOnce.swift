import StrataEvaluator

extension QueryPlan {
    /// The plan reads the collection once, with one cursor that no index serves: the
    /// only plan whose answer is exact on a server without a consistent read.
    public var readsOnce: Bool {
        guard case .recordOrder(let r) = strategy, r.mergeSort == nil, r.branches.count == 1,
              case .documents(let fetch) = r.branches[0].command else { return false }
        return fetch.allSatisfy { $0.singleField?.key == "$project" }
    }
}
