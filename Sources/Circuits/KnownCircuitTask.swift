import Foundation

extension KnownCircuitRecipe {
    /// The task a known-circuit model is trained on, its designated circuit and the answers of its high-level causal
    /// model, with and without an edge of the circuit patched from another prompt (the labels of interchange training).
    /// Prompts are worked on as symbol numbers (``words(symbols:)`` order) and turned into token ids at the end.
    public enum Task: String, Codable, Sendable, CaseIterable {
        /// Answer the first symbol of random symbols. The circuit is a 4-edge chain of value and MLP edges:
        /// `input → a0.h0<v> → a1.h0<v> → m1 → logits`.
        case firstSymbol = "first-symbol"
        /// Key–value lookup (associative recall): the prompt is `symbols` pair tokens `k{a}v{b}` (every key once, in
        /// random order, each with a random value), then a key `k{a}`; the answer is that key's value `v{b}`. The
        /// circuit is a head of layer 1 that matches the query against the keys, with its query and key edges: its
        /// query reads the last token (`input → a1.h0<q>`), its keys the pair tokens (`input → a1.h0<k>`), its values
        /// the same tokens (`input → a1.h0<v>`), and it writes the value (`a1.h0 → logits`). Training sits on a
        /// plateau until the head forms, for a number of steps that depends on the seed (seed 0 of the 4-key model
        /// leaves it near step 1000; seeds 1 and 2 had not after 2500).
        case lookup

        /// The designated circuit, by edge name.
        public var trueEdgeNames: [String] {
            switch self {
            case .firstSymbol: return ["input->a0.h0<v>", "a0.h0->a1.h0<v>", "a1.h0->m1", "m1->logits"]
            case .lookup: return ["input->a1.h0<q>", "input->a1.h0<k>", "input->a1.h0<v>", "a1.h0->logits"]
            }
        }

        /// The task's name in task files and circuit metadata.
        var taskName: String { self == .firstSymbol ? "known-circuit" : "lookup-circuit" }

        var summary: String {
            switch self {
            case .firstSymbol: return "Answer the first symbol; the corrupted prompt starts with another."
            case .lookup: return "Answer the value paired with the last key; the corrupted prompt is another such prompt with another answer."
            }
        }

        /// The vocabulary's words in symbol order: `s0 …` for the first symbol; keys `k0 …`, values `v0 …`, then the
        /// pairs `k{a}v{b}` (symbol `2n + a·n + b`) for lookup.
        func words(symbols n: Int) -> [String] {
            switch self {
            case .firstSymbol: return (0..<n).map { "s\($0)" }
            case .lookup:
                return (0..<n).map { "k\($0)" } + (0..<n).map { "v\($0)" } + (0..<n).flatMap { a in (0..<n).map { "k\(a)v\($0)" } }
            }
        }

        /// Checks that prompts of these sizes exist.
        func validate(_ options: Options) throws {
            guard self == .lookup else { return }
            guard options.length == options.symbols + 1 else {
                throw CircuitError.invalidArgument("lookup-circuit recipe: a prompt is one pair per key and the query, so the "
                    + "length must be symbols + 1 (got length \(options.length), \(options.symbols) symbols)")
            }
        }

        /// The answer of the high-level model (a symbol).
        func answer(_ prompt: [Int]) -> Int {
            switch self {
            case .firstSymbol: return prompt[0]
            case .lookup: return Self.lookup(query: prompt.last!, keys: prompt, values: prompt)!
            }
        }

        /// The high-level model's answer on `base` with the circuit edge `edge` reading `source`; nil where it has none.
        func interchangeAnswer(base: [Int], source: [Int], edge: String) -> Int? {
            switch self {
            case .firstSymbol: return source[0]
            case .lookup:
                switch edge {
                case "input->a1.h0<q>": return Self.lookup(query: source.last!, keys: base, values: base)
                case "input->a1.h0<k>": return Self.lookup(query: base.last!, keys: source, values: base)
                case "input->a1.h0<v>": return Self.lookup(query: base.last!, keys: base, values: source)
                default: return answer(source)
                }
            }
        }

        /// The lookup head of the high-level model: it attends to the pair position whose key (read from `keys`) is
        /// `query` and reads the value of the pair at that position in `values`.
        static func lookup(query: Int, keys: [Int], values: [Int]) -> Int? {
            let n = keys.count - 1
            return (0..<n).first { (keys[$0] - 2 * n) / n == query }.map { n + (values[$0] - 2 * n) % n }
        }

        /// A random prompt of the task (symbols).
        func prompt(symbols n: Int, length: Int, using generator: inout SeededGenerator) -> [Int] {
            switch self {
            case .firstSymbol:
                return (0..<length).map { _ in Int.random(in: 0..<n, using: &generator) }
            case .lookup:
                var keys = Array(0..<n)
                for i in 0..<n { keys.swapAt(i, Int.random(in: i..<n, using: &generator)) }
                let pairs = keys.map { 2 * n + $0 * n + Int.random(in: 0..<n, using: &generator) }
                return pairs + [Int.random(in: 0..<n, using: &generator)]
            }
        }
    }
}
