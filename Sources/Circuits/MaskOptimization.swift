import Foundation

/// Settings of a mask optimization run (``EdgePatching/optimizeMasks(_:resumingFrom:checkpointInterval:checkpoint:stopAfter:progress:)``).
public struct MaskOptimizationOptions: Codable, Equatable, Sendable {
    /// How a step samples each edge's keep fraction from its logit `θ`.
    public enum Sampler: String, Codable, Sendable, CaseIterable {
        /// Edge pruning (Bhaskar et al. 2024, arXiv 2406.16778), the hard concrete distribution of Louizos et al.
        /// 2018: `u ~ U(0, 1)`, `s = σ((log u − log(1 − u) + θ) / β)`, `z = clamp(s·(r − l) + l, 0, 1)` with
        /// `β = 2/3, l = −0.1, r = 1.1`; the penalty is the expected L0 norm `Σ σ(θ − β log(−l/r))`.
        case hardConcrete = "hard-concrete"
        /// Uniform gradient sampling (UGS, Li & Janson 2024, MIB's mask baseline: `EdgeMaskUnifSampler` in
        /// github.com/alestolfo/optimalablation): `p = σ(θ)`, `u ~ U(0, 1)`, `z = clamp(½ − (u − p)/w, 0, 1)` with the
        /// window `w = p(1 − p)` held constant, so `∂z/∂θ = p(1 − p)` inside the window; the penalty is `Σ p`.
        case uniformGradient = "ugs"
    }

    public var sampler: Sampler
    /// Optimization steps (one masked forward and backward pass over every prompt pair each).
    public var steps: Int
    /// λ, the weight of the sparsity penalty per edge (with ``targetEdges``, λ's starting value).
    public var sparsity: Float
    /// When set, λ becomes a Lagrange multiplier that steers the kept edge count (logits above 0) to this target, in
    /// the spirit of edge pruning's targeted sparsity (Bhaskar et al. 2024 §3, a Lagrangian on the sparsity gap): with
    /// the gap `v = (kept − target) / edges`, each step penalizes `(λ + v) · Σ σ(θ)` (a proportional term on top of
    /// the multiplier, which damps its swings) and then takes an ascent step `λ ← λ + multiplierLearningRate · v`, so
    /// λ grows while too many edges are kept and shrinks (to negative values, which pull edges back) while too few.
    /// The gap is measured on the discrete count, not on an expected count, so that many edges just below ½ cannot
    /// hold it above the target.
    ///
    /// With the UGS sampler the count steered to is annealed linearly from every edge to the target over the first
    /// half of the steps, as edge pruning warms up its target sparsity (Bhaskar et al. 2024 §3). UGS gives an edge a
    /// metric gradient only at steps whose draw falls in its window `p(1 − p)` (5 % of them at the starting logit 3)
    /// while the size term acts at every step, and an edge it has pushed far below ½ cannot come back (its window
    /// vanishes); a gap `v` starting near 1 therefore pushed circuit edges out with the rest. Annealed, the gap stays
    /// small and edges leave in order of their effect. (MIB's UGS, which has no target, keeps `λ Σ σ(θ)` with λ
    /// fixed, as here without a target.)
    ///
    /// The multiplier only shapes training: a discrete count moves in jumps of several edges when edges of equal
    /// role learn in step, so λ alone can settle a few edges off a small target (6 kept for a target of 4 on the
    /// known-circuit model). The circuit is therefore discretized by rank, the `targetEdges` highest logits, as
    /// top-n selection discretizes every other scoring method (and as edge pruning reads off a circuit at a given
    /// sparsity by thresholding its learned masks); the count is exact and the order is the learned one.
    public var targetEdges: Int?
    /// The ascent rate of λ when ``targetEdges`` is set.
    public var multiplierLearningRate: Float
    /// Adam's step size on the logits.
    public var learningRate: Float
    /// Seeds the mask samples: step `t` draws from ``SeededGenerator`` seeded with a function of (seed, t).
    public var seed: UInt64
    /// Every logit starts here (3: every edge almost surely kept).
    public var initialLogit: Float

    public init(sampler: Sampler = .hardConcrete, steps: Int = 200, sparsity: Float = 0.01, learningRate: Float = 0.1,
                seed: UInt64 = 0, initialLogit: Float = 3, targetEdges: Int? = nil, multiplierLearningRate: Float = 0.01) {
        self.sampler = sampler
        self.targetEdges = targetEdges
        self.multiplierLearningRate = multiplierLearningRate
        self.steps = steps
        self.sparsity = sparsity
        self.learningRate = learningRate
        self.seed = seed
        self.initialLogit = initialLogit
    }

    /// `z` and `∂z/∂θ` of one edge for the uniform draw `u`.
    func sample(logit θ: Float, uniform u: Float) -> (z: Float, derivative: Float) {
        switch sampler {
        case .hardConcrete:
            let (beta, low, high): (Float, Float, Float) = (2.0 / 3, -0.1, 1.1)
            let v = Swift.min(Swift.max(u, 1e-6), 1 - 1e-6)
            let s = sigmoid((Foundation.log(v) - Foundation.log(1 - v) + θ) / beta)
            let stretched = s * (high - low) + low
            let inside = stretched > 0 && stretched < 1
            return (Swift.min(Swift.max(stretched, 0), 1), inside ? (high - low) * s * (1 - s) / beta : 0)
        case .uniformGradient:
            let p = sigmoid(θ), window = p * (1 - p)
            guard window > 0 else { return (p > 0.5 ? 1 : 0, 0) }
            let raw = 0.5 - (u - p) / window
            return (Swift.min(Swift.max(raw, 0), 1), raw > 0 && raw < 1 ? window : 0)
        }
    }

    /// `σ(θ)`, the probability whose value above ½ keeps the edge, and its derivative: the count steered to a target.
    func keepProbability(logit θ: Float) -> (value: Float, derivative: Float) {
        let p = sigmoid(θ)
        return (p, p * (1 - p))
    }

    /// The kept count that step `step` steers to: the target, or with UGS the target annealed linearly from `edges`
    /// over the first half of the steps.
    func steeredCount(target: Int, edges: Int, step: Int) -> Float {
        guard sampler == .uniformGradient else { return Float(target) }
        let progress = Swift.min(1, Float(step + 1) / Float(Swift.max(1, steps / 2)))
        return Float(edges) - Float(edges - target) * progress
    }

    /// The penalty term of one edge and its derivative by the logit.
    func penalty(logit θ: Float) -> (value: Float, derivative: Float) {
        let p = sigmoid(sampler == .hardConcrete ? θ - (2.0 / 3) * Foundation.log(0.1 / 1.1) : θ)
        return (p, p * (1 - p))
    }
}

@inline(__always) private func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

/// Everything a mask optimization run has computed so far, to resume it: the logits, Adam's moments, the step.
public struct MaskOptimizationState: Codable, Equatable {
    /// One logit per edge, in the order of ``ComputationGraph/edges``.
    public var logits: [Float]
    var firstMoments: [Float]
    var secondMoments: [Float]
    /// Steps done.
    public var step: Int
    /// λ of the next step: ``MaskOptimizationOptions/sparsity`` throughout unless a target edge count steers it.
    public var multiplier: Float
    /// The penalized count at the last step: `Σ penalty(θ)`, or `Σ σ(θ)` when steering to a target.
    public var expectedEdges: Float
    /// The loss of the last step (metric term, negated when higher is better, plus λ × penalty).
    public var loss: Float
    /// What the run was started with, to refuse resuming a different run.
    public let options: MaskOptimizationOptions
    public let metric: String
    public let edgeCount: Int

    init(start patching: EdgePatching, options: MaskOptimizationOptions) {
        let count = patching.graph.edges.count
        logits = Array(repeating: options.initialLogit, count: count)
        firstMoments = Array(repeating: 0, count: count)
        secondMoments = Array(repeating: 0, count: count)
        step = 0
        multiplier = options.sparsity
        expectedEdges = Float(count)
        loss = .nan
        self.options = options
        metric = patching.metric.name
        edgeCount = count
    }

    /// The indices of the kept edges: those with a positive logit or, given a target count, exactly that many
    /// edges with the highest logits (ties to the earlier edge), whatever the sign of their logits.
    func keptEdges(target: Int?) -> [Int] {
        guard let target else { return logits.indices.filter { logits[$0] > 0 } }
        return Array(logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(target))
    }

    func check(against patching: EdgePatching, options: MaskOptimizationOptions) throws {
        guard edgeCount == patching.graph.edges.count, metric == patching.metric.name, self.options == options,
              logits.count == edgeCount else {
            throw CircuitError.invalidArgument("the saved mask state is for another run (\(edgeCount) edges, metric \(metric), "
                + "\(self.options)); this run has \(patching.graph.edges.count) edges, metric \(patching.metric.name), \(options)")
        }
    }
}

/// The outcome of mask optimization.
public struct MaskOptimizationResult {
    /// `σ(θ)` of the learned logits as edge scores, in (0, 1) (as MIB's `convert_mask_to_graph.py` scores UGS).
    public let scores: EdgeScores
    /// The edges whose logit is positive (`σ(θ) > ½`: the hard concrete's deterministic mask above ½, UGS's keep
    /// probability above ½); with ``MaskOptimizationOptions/targetEdges`` exactly that many, the highest logits.
    public let circuit: Circuit
    public let state: MaskOptimizationState
}

extension EdgePatching {
    /// Mask optimization: learns a keep fraction per edge (one logit each) that preserves the metric with few
    /// edges, then keeps the edges whose logit is positive.
    ///
    /// Each step samples every edge's keep fraction `z` from its logit (``MaskOptimizationOptions/Sampler``),
    /// runs the masked forward and backward pass (``maskedRun(keep:)``: a receiver reads `z` of each sender's
    /// output and `1 − z` of its source output) and takes one Adam step (β = 0.9, 0.999, ε = 1e-8) on
    /// `loss = ±metric + λ · Σ penalty(θ)`, the metric negated when higher is better: with the KL metric this is
    /// edge pruning's objective, KL to the clean run plus an L0 penalty. As in edge pruning, one mask is sampled
    /// per step and shared by the examples (MIB's UGS samples one per example). λ is fixed, or with
    /// ``MaskOptimizationOptions/targetEdges`` a Lagrange multiplier steering the kept count towards the target, and the
    /// circuit is then the target's number of highest logits.
    ///
    /// In a position-aware graph (``positionBuckets``) every positional edge has its own logit: edge pruning by
    /// position, its 0/1 masked run equal to positional edge patching.
    ///
    /// Deterministic: the draws of step `t` depend only on the seed and `t`, so a run resumed from a saved state
    /// equals the uninterrupted run bit for bit. `checkpoint` receives the state every `checkpointInterval` steps
    /// and at the end; `stopAfter` ends the run early (the returned state resumes it).
    public func optimizeMasks(_ options: MaskOptimizationOptions, resumingFrom saved: MaskOptimizationState? = nil,
                              checkpointInterval: Int = 50, checkpoint: ((MaskOptimizationState) -> Void)? = nil,
                              stopAfter: Int? = nil,
                              progress: ((_ step: Int, _ total: Int) -> Void)? = nil) throws -> MaskOptimizationResult {
        guard options.steps >= 0, options.sparsity >= 0, options.learningRate > 0 else {
            throw CircuitError.invalidArgument("mask optimization needs steps ≥ 0, sparsity ≥ 0 and a positive learning rate")
        }
        if let target = options.targetEdges, !(0...graph.edges.count).contains(target) || !(options.multiplierLearningRate > 0) {
            throw CircuitError.invalidArgument("the target edge count \(target) must be 0 to \(graph.edges.count) (the graph's edges) "
                + "and the multiplier learning rate positive (\(options.multiplierLearningRate))")
        }
        try saved?.check(against: self, options: options)
        var state = saved ?? MaskOptimizationState(start: self, options: options)
        let sign: Float = metric.higherIsBetter ? -1 : 1
        let (beta1, beta2, epsilon): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        var stepsThisRun = 0
        while state.step < options.steps {
            if let stopAfter, stepsThisRun >= stopAfter { break }
            var generator = SeededGenerator(seed: options.seed &+ UInt64(state.step) &* 0xD1B5_4A32_D192_ED03)
            let draws = state.logits.map { options.sample(logit: $0, uniform: Float.random(in: 0..<1, using: &generator)) }
            let (value, metricGradient) = maskedRun(keep: draws.map(\.z))
            let penalties = state.logits.map(options.targetEdges == nil ? options.penalty : options.keepProbability)
            let penalty = penalties.reduce(0) { $0 + $1.value }
            let kept = state.logits.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            let steered = options.targetEdges.map { options.steeredCount(target: $0, edges: graph.edges.count, step: state.step) }
            let violation = steered.map { (Float(kept) - $0) / Float(graph.edges.count) } ?? 0
            let weight = state.multiplier + violation
            let t = Float(state.step + 1)
            for e in state.logits.indices {
                let g = sign * metricGradient[e] * draws[e].derivative + weight * penalties[e].derivative
                state.firstMoments[e] = beta1 * state.firstMoments[e] + (1 - beta1) * g
                state.secondMoments[e] = beta2 * state.secondMoments[e] + (1 - beta2) * g * g
                let m = state.firstMoments[e] / (1 - Foundation.pow(beta1, t))
                let v = state.secondMoments[e] / (1 - Foundation.pow(beta2, t))
                state.logits[e] -= options.learningRate * m / (v.squareRoot() + epsilon)
            }
            state.loss = sign * value + weight * (penalty - (steered ?? 0))
            state.expectedEdges = penalty
            state.multiplier += options.multiplierLearningRate * violation
            state.step += 1
            stepsThisRun += 1
            progress?(state.step, options.steps)
            if let checkpoint, state.step % checkpointInterval == 0 { checkpoint(state) }
        }
        checkpoint?(state)
        let method = "mask-" + options.sampler.rawValue
        let scores = EdgeScores(graph: graph, values: state.logits.map(sigmoid), method: method)
        let kept = Set(state.keptEdges(target: options.targetEdges).map { graph.edges[$0] })
        var metadata = ["method": method, "selection": options.targetEdges.map { "top-\($0)-by-logit" } ?? "logit>0",
                        "sparsity": "\(options.sparsity)", "steps": "\(state.step)", "seed": "\(options.seed)"]
        if let target = options.targetEdges {
            metadata["targetEdges"] = "\(target)"
            metadata["finalSparsity"] = "\(state.multiplier)"
        }
        let circuit = Circuit(graph: graph, edges: kept, scores: scores.dictionary, metadata: metadata)
        return MaskOptimizationResult(scores: scores, circuit: circuit, state: state)
    }
}
