import Testing
import Interp

/// ``PromptPairs/checkCounterfactuals(source:)`` and ``MetricSpan``: identical clean and corrupted prompts, and
/// normalizing by a (nearly) zero difference.
@Suite struct CounterfactualCheckTests {
    static func pairs(identical: Set<Int>, count: Int = 3) throws -> PromptPairs {
        let clean = (0..<count).map { [1, 2 + $0, 9] }
        let corrupted = (0..<count).map { identical.contains($0) ? clean[$0] : [1, 20 + $0, 9] }
        return try PromptPairs(clean: clean, corrupted: corrupted, answers: Array(repeating: 3, count: count),
                               wrongs: Array(repeating: 4, count: count))
    }

    @Test func identicalPromptsAreRefusedOrNamed() throws {
        #expect(try Self.pairs(identical: []).checkCounterfactuals(source: "t.json") == nil)
        #expect(try Self.pairs(identical: [1]).examplesWithIdenticalPrompts == [1])
        #expect(try Self.pairs(identical: [1]).checkCounterfactuals(source: "t.json")
                == "t.json: the corrupted prompt of 1 of 3 examples (example 1) is its clean prompt: they add a difference of 0 to every mean, diluting it")
        #expect(throws: TaskFileError("t.json: the corrupted prompt of every example (examples 0, 1, 2) is its clean prompt: patching from the "
                                      + "corrupted run changes nothing, and faithfulness and normalized effects (which divide by clean − corrupted) are undefined")) {
            try Self.pairs(identical: [0, 1, 2]).checkCounterfactuals(source: "t.json")
        }
        let many = try Self.pairs(identical: Set(0..<12), count: 13)
        #expect(try many.checkCounterfactuals(source: "t")?.contains("12 of 13 examples (examples 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more)") == true)
    }

    @Test func aDegenerateSpanIsNaNAndRefused() throws {
        let span = MetricSpan(zero: 2, one: 4)
        #expect(!span.isDegenerate && span.fraction(3) == 0.5)
        #expect(throws: Never.self) { try span.check(metric: "logit_diff") }
        for degenerate in [MetricSpan(zero: 3, one: 3), MetricSpan(zero: 3, one: 3.0001), MetricSpan(zero: 0, one: 5e-5),
                           MetricSpan(zero: 1000, one: 1000.05), MetricSpan(zero: .nan, one: 1)] {
            #expect(degenerate.isDegenerate && degenerate.fraction(1).isNaN, "\(degenerate)")
            #expect(throws: MetricSpanError.self) { try degenerate.check(metric: "logit_diff") }
        }
        #expect(!MetricSpan(zero: 0, one: 1e-3).isDegenerate)
        do {
            try MetricSpan(zero: 3, one: 3).check(metric: "kl", zeroLabel: "with every edge patched")
        } catch {
            #expect("\(error)".hasPrefix("the metric kl is 3.0 on the clean run and 3.0 with every edge patched: they differ by 0.0, too little to normalize by"))
        }
        let result = PatchingResult(component: "resid_pre", axes: [.init(name: "layer", labels: ["0", "1"])], values: [3, 3], metric: "logit_diff", direction: "denoising",
                                    cleanValue: 3, corruptedValue: 3)
        #expect(result.normalized.allSatisfy { $0.isNaN })
        let total = Metric(name: "total") { $0.sum() }, logits = Tensor(shape: [1, 2], scalars: [1, 2])
        #expect(total.normalized(clean: 4, corrupted: 2)(logits).item == 0.5)
        #expect(total.normalized(clean: 3, corrupted: 3)(logits).item.isNaN)
    }
}
