extension PromptPairs {
    /// The examples whose corrupted prompt is their clean prompt, token for token. Patched from the corrupted run,
    /// such an example changes nothing: its clean − corrupted difference is 0.
    public var examplesWithIdenticalPrompts: [Int] {
        (0..<count).filter { clean.tokens[$0] == corrupted.tokens[$0] }
    }

    /// Checks that the corrupted prompts can serve as counterfactuals (what patching from the corrupted run
    /// needs; zero and mean ablations do not read them).
    ///
    /// When every example's corrupted prompt is its clean prompt, every corrupted-run patching effect is 0 and
    /// faithfulness and normalized effects are 0/0: that is refused. When only some are, the task still measures
    /// something, but those examples count in every mean with a difference of 0 and dilute it: the returned warning
    /// names them, for the caller to show.
    ///
    /// - Parameter source: names the task (its file path) in the error and the warning.
    /// - Throws: ``TaskFileError`` naming `source` and the examples, when all of them are identical.
    /// - Returns: a warning naming the identical examples, or nil when there are none.
    public func checkCounterfactuals(source: String) throws -> String? {
        let identical = examplesWithIdenticalPrompts
        guard !identical.isEmpty else { return nil }
        if identical.count == count {
            throw TaskFileError("\(source): the corrupted prompt of every example (\(Self.list(identical))) is its clean prompt: "
                                + "patching from the corrupted run changes nothing, and faithfulness and normalized effects "
                                + "(which divide by clean − corrupted) are undefined")
        }
        return "\(source): the corrupted prompt of \(identical.count) of \(count) examples (\(Self.list(identical))) is its "
            + "clean prompt: they add a difference of 0 to every mean, diluting it"
    }

    /// `example 3` or `examples 0, 4, 7`, the first 10 and how many more.
    private static func list(_ indices: [Int]) -> String {
        let shown = indices.prefix(10).map(String.init).joined(separator: ", ")
        let more = indices.count > 10 ? " and \(indices.count - 10) more" : ""
        return (indices.count == 1 ? "example " : "examples ") + shown + more
    }
}
