import ArgumentParser
import Foundation
import Interp

/// Interventions on the command line (`run`, `generate`, `trace`): `--intervene SPEC` (repeatable) and activation
/// addition (`--steer HOOK --steer-plus TEXT --steer-minus TEXT`).
///
/// A spec is `HOOK[heads=2,5][positions=0,3]:OPERATION`, the selections optional, the hook in any accepted
/// spelling; operations: `zero`, `scale=F`, `clamp=LOW,HIGH`, `noise=SD[,SEED]`, `set=F`, `add=FILE[*C]` (FILE a JSON
/// array of numbers, as wide as the activation's last axis, times C).
struct InterventionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Change an activation during the run; repeatable, applied in order.",
        discussion: "HOOK[heads=2,5][positions=0,3]:OP with OP zero, scale=F, clamp=LOW,HIGH, noise=SD[,SEED], set=F or add=FILE[*C] (FILE: a JSON array of numbers as wide as the activation's last axis). Example: --intervene 'blocks.3.attn.hook_z[heads=7]:zero'",
        valueName: "spec"))
    var intervene: [String] = []
    @Option(help: ArgumentHelp("Activation addition (Turner et al. 2023) at this hook point: adds the coefficient times the activation difference of --steer-plus and --steer-minus at the front of the run.", valueName: "hook"))
    var steer: String?
    @Option(help: "The prompt whose activations are added (with --steer).") var steerPlus: String?
    @Option(help: "The prompt whose activations are subtracted (with --steer).") var steerMinus: String?
    @Option(help: "The steering coefficient (with --steer).") var steerCoefficient: Float = 1
    @Option(help: "Pads the shorter steering prompt (with --steer; must be one token), as Turner et al. pad with a space.")
    var steerPadding = " "

    func validate() throws {
        let steering = [steerPlus, steerMinus].compactMap { $0 }
        if steer == nil, !steering.isEmpty { throw ValidationError("--steer-plus and --steer-minus need --steer HOOK") }
        if steer != nil, steering.count < 2 { throw ValidationError("--steer needs both --steer-plus and --steer-minus") }
        if !steerCoefficient.isFinite { throw ValidationError("--steer-coefficient must be finite") }
    }

    /// The interventions, in order: every `--intervene`, then the activation addition; a selected position must be
    /// below `positions`, the run's length (with generation, the prompt's plus the tokens to generate).
    func interventions(for lm: LanguageModel, positions: Int) throws -> [Intervention] {
        var list = try intervene.map { text in
            let spec = try InterventionSpec(parsing: text)
            if let beyond = spec.positions?.first(where: { $0 >= positions }) {
                throw ValidationError("--intervene '\(text)': position \(beyond) is beyond the run's \(positions) positions")
            }
            return try spec.intervention(for: lm.model)
        }
        if let steer, let steerPlus, let steerMinus {
            let plus = try lm.tokens(steerPlus), minus = try lm.tokens(steerMinus)
            let padding = plus.count == minus.count ? 0 : try paddingToken(lm)
            list.append(try Intervention.activationAddition(model: lm.model, at: steer, plus: plus, minus: minus,
                                                            padding: padding, coefficient: steerCoefficient))
        }
        return list
    }

    private func paddingToken(_ lm: LanguageModel) throws -> Int {
        let ids = try lm.tokens(steerPadding, addSpecialTokens: false)
        guard ids.count == 1 else {
            throw ValidationError("--steer-padding '\(steerPadding)' is \(ids.count) tokens for this tokenizer; the steering prompts differ in length, so give one that is a single token")
        }
        return ids[0]
    }
}

/// One `--intervene` spec, parsed: `HOOK[heads=…][positions=…]:OPERATION`.
struct InterventionSpec {
    enum Operation: Equatable {
        case zero, scale(Float), clamp(Float, Float), noise(Float, UInt64), set(Float), add(file: String, times: Float)
    }

    let text: String
    let hook: String
    let heads: [Int]?
    let positions: [Int]?
    let operation: Operation

    init(parsing text: String) throws {
        self.text = text
        func failure(_ message: String) -> ValidationError { ValidationError("--intervene '\(text)': \(message)") }
        guard let colon = text.firstIndex(of: ":") else { throw failure("expected HOOK:OPERATION, e.g. blocks.3.attn.hook_z[heads=7]:zero") }
        var target = String(text[..<colon])
        let operationText = String(text[text.index(after: colon)...])
        var selections: [String: [Int]] = [:]
        while target.hasSuffix("]"), let open = target.lastIndex(of: "[") {
            let body = target[target.index(after: open)..<target.index(before: target.endIndex)]
            let parts = body.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["heads", "positions"].contains(parts[0]), selections[parts[0]] == nil else {
                throw failure("'[\(body)]' is not a selection (expected [heads=…] or [positions=…], each at most once)")
            }
            let values = parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw failure("'\(parts[1])' is not a list of non-negative \(parts[0]) indices")
            }
            selections[parts[0]] = values.map { $0! }
            target = String(target[..<open])
        }
        guard !target.isEmpty, !target.contains("[") else { throw failure("'\(target)' is not a hook name") }
        hook = target
        heads = selections["heads"]
        positions = selections["positions"]
        operation = try Self.operation(operationText, failure: failure)
    }

    private static func operation(_ text: String, failure: (String) -> ValidationError) throws -> Operation {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let name = parts.first ?? "", argument = parts.count == 2 ? parts[1] : nil
        func numbers(_ count: ClosedRange<Int>) throws -> [Float] {
            let values = (argument ?? "").split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard count.contains(values.count), values.allSatisfy({ $0?.isFinite == true }) else {
                throw failure("'\(name)' takes \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) or \(count.upperBound)") finite number(s), found '\(argument ?? "")'")
            }
            return values.map { $0! }
        }
        switch name {
        case "zero" where argument == nil: return .zero
        case "scale": return .scale(try numbers(1...1)[0])
        case "set": return .set(try numbers(1...1)[0])
        case "clamp":
            let bounds = try numbers(2...2)
            guard bounds[0] <= bounds[1] else { throw failure("clamp's low bound \(bounds[0]) is above its high bound \(bounds[1])") }
            return .clamp(bounds[0], bounds[1])
        case "noise":
            let values = (argument ?? "").split(separator: ",").map(String.init)
            guard let deviation = values.first.flatMap(Float.init), deviation.isFinite, deviation >= 0, values.count <= 2,
                  let seed = values.count == 2 ? UInt64(values[1]) : 0 else {
                throw failure("'noise' takes a standard deviation ≥ 0 and an optional integer seed, found '\(argument ?? "")'")
            }
            return .noise(deviation, seed)
        case "add":
            guard let argument, !argument.isEmpty else { throw failure("'add' needs a vector file: add=FILE or add=FILE*C") }
            if let star = argument.lastIndex(of: "*"), let times = Float(argument[argument.index(after: star)...]) {
                guard times.isFinite else { throw failure("the factor after '*' must be finite") }
                return .add(file: String(argument[..<star]), times: times)
            }
            return .add(file: argument, times: 1)
        default:
            throw failure("unknown operation '\(text)' (expected zero, scale=F, clamp=LOW,HIGH, noise=SD[,SEED], set=F or add=FILE[*C])")
        }
    }

    /// The intervention on `model`: the hook resolved, `add`'s vector read and checked against the activation's width.
    func intervention(for model: TransformerModel) throws -> Intervention {
        let name = try model.hookNameResolver.resolve(hook)
        let kind: Intervention.Operation
        switch operation {
        case .zero: kind = .zero
        case .scale(let factor): kind = .scale(factor)
        case .set(let value): kind = .replace(Tensor(value))
        case let .clamp(low, high): kind = .clamp(min: low, max: high)
        case let .noise(deviation, seed): kind = .noise(standardDeviation: deviation, seed: seed)
        case let .add(file, times): kind = .add(try vector(file, for: name, model: model) * times)
        }
        return Intervention(at: name, positions: positions, heads: heads, kind)
    }

    private func vector(_ file: String, for name: String, model: TransformerModel) throws -> Tensor {
        let url = URL(fileURLWithPath: file)
        let data: Data
        do { data = try Data(contentsOfFileOrStream: url) } catch {
            throw ValidationError("--intervene '\(text)': cannot read \(file): \(error.localizedDescription)")
        }
        guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any],
              let values = Optional(array.compactMap { ($0 as? NSNumber)?.floatValue }), values.count == array.count,
              !values.isEmpty, values.allSatisfy(\.isFinite) else {
            throw ValidationError("--intervene '\(text)': \(file) is not a JSON array of finite numbers")
        }
        let (_, cache) = try model.runWithCache(TokenBatch([[0]]), filter: .names([name]))
        let width = try cache.activation(name).shape.last ?? 1
        guard values.count == width else {
            throw ValidationError("--intervene '\(text)': \(file) holds \(values.count) numbers, but \(name) is \(width) wide")
        }
        return Tensor(shape: [width], scalars: values)
    }
}
