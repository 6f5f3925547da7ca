/// A scalar summary of a run's logits at the read positions, differentiable through the gradient tape.
///
/// Built-in metrics read `[batch, vocab]` logits (one row per example at its answer position):
/// - `logitDifference`: mean over examples of logit(answer) − logit(wrong);
/// - `probabilityDifference`: mean of p(answer) − p(wrong);
/// - `klDivergence`: mean KL(reference ‖ run), reference = the clean run (lower = closer to clean);
/// - `loss`: mean cross-entropy of the answer;
/// - `l2`: mean L2 distance between the run's logits and the reference logits;
/// - `cosine`: mean cosine similarity between the run's logits and the reference logits.
///
/// ```swift
/// let metric = Metric.logitDifference(answers: [mary], wrongs: [john])
/// let value = metric(logitsAtEnd).item
/// ```
public struct Metric {
    /// A short identifier (`logit_diff`, `kl`, ...).
    public let name: String
    /// True when larger values mean more of the behaviour (false for divergences and losses).
    public let higherIsBetter: Bool
    /// The logits each example's value reads (`[example][tokens]`) when it reads only some; nil when it may read
    /// every logit (through a softmax, a norm, ...). A caller may then compute only those logits.
    public let readTokens: [[Int]]?
    /// The distinct vocabulary entries of ``readTokens``, sorted; nil when the metric may read every logit.
    public var readColumns: [Int]? { readTokens.map { Array(Set($0.joined())).sorted() } }
    /// When the metric is the mean over examples of a value per example: that value for each row of `[rows, vocab]`
    /// logits, row `i` being example `i % batch` (so several runs of the batch are evaluated at once), computed
    /// off the gradient tape; nil otherwise. A caller may average these instead of calling the metric per run.
    public let rowValues: ((Tensor) -> [Float])?
    private let function: (Tensor) -> Tensor

    /// A custom metric from a differentiable function of `[batch, vocab]` logits to a scalar tensor (reading only
    /// the logits `readTokens`, if given; the mean of `rowValues`, if given).
    public init(name: String, higherIsBetter: Bool = true, readTokens: [[Int]]? = nil, rowValues: ((Tensor) -> [Float])? = nil,
                _ function: @escaping (Tensor) -> Tensor) {
        self.name = name
        self.higherIsBetter = higherIsBetter
        self.readTokens = readTokens
        self.rowValues = rowValues
        self.function = function
    }

    /// Evaluates the metric on `[batch, vocab]` logits (or `[batch, 1, vocab]`).
    public func callAsFunction(_ logits: Tensor) -> Tensor {
        function(logits.rank == 3 ? logits.reshaped([logits.shape[0], logits.shape[2]]) : logits)
    }

    /// Picks `tokens[b]` from row `b` of `[batch, vocab]`: a differentiable gather, `[batch]`.
    static func pick(_ rows: Tensor, _ tokens: [Int]) -> Tensor {
        let vocab = rows.shape[1]
        return rows.reshaped([-1]).indexSelect(axis: 0, tokens.enumerated().map { $0.offset * vocab + $0.element })
    }

    public static func logitDifference(answers: [Int], wrongs: [Int]) -> Metric {
        Metric(name: "logit_diff", readTokens: zip(answers, wrongs).map { [$0, $1] }) { logits in (pick(logits, answers) - pick(logits, wrongs)).mean() }
    }

    public static func probabilityDifference(answers: [Int], wrongs: [Int]) -> Metric {
        Metric(name: "prob_diff") { logits in
            let p = logits.softmax(axis: -1)
            return (pick(p, answers) - pick(p, wrongs)).mean()
        }
    }

    public static func klDivergence(reference: Tensor) -> Metric {
        let referenceLog = reference.logSoftmax(axis: -1).detached
        let referenceProbabilities = referenceLog.exp()
        let rows = { (logits: Tensor) in
            logits.klDivergenceRows(referenceLog: referenceLog, referenceProbabilities: referenceProbabilities)
        }
        return Metric(name: "kl", higherIsBetter: false, rowValues: rows) { logits in
            (referenceProbabilities * (referenceLog - logits.logSoftmax(axis: -1))).sum(axis: -1).mean()
        }
    }

    public static func loss(answers: [Int]) -> Metric {
        Metric(name: "loss", higherIsBetter: false) { logits in -pick(logits.logSoftmax(axis: -1), answers).mean() }
    }

    public static func l2(reference: Tensor) -> Metric {
        let fixed = reference.detached
        return Metric(name: "l2", higherIsBetter: false) { logits in
            ((logits - fixed).squared().sum(axis: -1) + 1e-12).sqrt().mean()
        }
    }

    public static func cosine(reference: Tensor) -> Metric {
        let fixed = reference.detached
        let referenceNorm = fixed.squared().sum(axis: -1).sqrt()
        return Metric(name: "cosine") { logits in
            let dot = (logits * fixed).sum(axis: -1)
            return (dot / (logits.squared().sum(axis: -1).sqrt() * referenceNorm + 1e-12)).mean()
        }
    }

    /// This metric rescaled so that the corrupted run scores 0 and the clean run 1:
    /// `(m(run) − m(corrupted)) / (m(clean) − m(corrupted))`; NaN when that span is degenerate (``MetricSpan``).
    public func normalized(clean: Float, corrupted: Float) -> Metric {
        let span = MetricSpan(zero: corrupted, one: clean)
        let divisor = span.isDegenerate ? Float.nan : clean - corrupted
        return Metric(name: name + "_normalized", higherIsBetter: true) { logits in (self(logits) - corrupted) / divisor }
    }
}

/// The metrics that can be named on the command line and in task files.
public enum MetricKind: String, CaseIterable, Sendable, Codable {
    case logitDiff = "logit_diff"
    case probDiff = "prob_diff"
    case kl
    case loss
    case l2
    case cosine

    /// The metric for examples with these answers, comparing with `reference` logits (the clean run's);
    /// `reference` is evaluated only by the kinds that compare with it (KL, L2, cosine).
    public func metric(answers: [Int], wrongs: [Int], reference: @autoclosure () -> Tensor) -> Metric {
        switch self {
        case .logitDiff: return .logitDifference(answers: answers, wrongs: wrongs)
        case .probDiff: return .probabilityDifference(answers: answers, wrongs: wrongs)
        case .kl: return .klDivergence(reference: reference())
        case .loss: return .loss(answers: answers)
        case .l2: return .l2(reference: reference())
        case .cosine: return .cosine(reference: reference())
        }
    }
}

extension MetricKind {
    /// The metric for prompt pairs, with the clean run's logits at the read positions as the reference (run
    /// only for the kinds that need it).
    public func metric(for pairs: PromptPairs, model: TransformerModel) -> Metric {
        metric(answers: pairs.answers, wrongs: pairs.wrongs,
               reference: model.forward(pairs.clean, logitPositions: .last).reshaped([pairs.count, -1]))
    }
}
