import ArgumentParser
import Circuits

/// `--positions IO,S1,S2,END` / `--per-position`: a position-aware circuit graph (see ``PositionBuckets``).
struct PositionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Position-aware circuit: edges per labelled position of the task file (comma-separated labels, e.g. IO,S1,S2,END; \
        each example uses its own indices). Tokens no label names form one more bucket, 'other'.
        """, valueName: "labels"))
    var positions: String?
    @Flag(help: "Position-aware circuit with edges per token position 0, 1, … (prompts of one length).")
    var perPosition = false

    func validate() throws {
        if positions != nil && perPosition { throw ValidationError("give --positions or --per-position, not both") }
    }

    /// The buckets asked for, or nil for the plain graph.
    func buckets(_ pairs: PromptPairs) throws -> PositionBuckets? {
        if perPosition { return try .absolute(pairs) }
        guard let positions else { return nil }
        return try .labelled(positions.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }, in: pairs)
    }

    /// The buckets for evaluating a saved circuit: those asked for, else the circuit's own (absolute when its
    /// buckets are `0`, `1`, …, else its labels without `other`); they must be the circuit's.
    func buckets(_ pairs: PromptPairs, circuit graph: ComputationGraph, file: String) throws -> PositionBuckets? {
        var chosen = try buckets(pairs)
        if chosen == nil && graph.isPositional {
            chosen = graph.positions == (0..<graph.positions.count).map(String.init)
                ? try .absolute(pairs)
                : try .labelled(graph.positions.filter { $0 != PositionBuckets.otherLabel }, in: pairs)
        }
        guard (chosen?.labels ?? []) == graph.positions else {
            throw CLIError("\(file): the circuit's positions (\(graph.positions.isEmpty ? "none" : graph.positions.joined(separator: ","))) "
                + "differ from these prompts' (\(chosen.map { $0.labels.joined(separator: ",") } ?? "none"))")
        }
        return chosen
    }
}
