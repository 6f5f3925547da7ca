import Foundation

/// Which activations a run records.
public enum ActivationFilter {
    /// Every hook point, including the optional per-head ones (`attn.hook_result`, `hook_q_input`, ...).
    case all
    /// The hook points TransformerLens caches by default (no per-head results or split inputs).
    case standard
    /// Exactly these names (any spelling ``HookNameResolver`` accepts).
    case names([String])
    /// Exactly these hook points.
    case points([HookPoint])
    /// Every hook point of these kinds, at every layer (e.g. `.kinds([.pattern])`).
    case kinds(Set<HookPoint.Kind>)
    /// Names for which the predicate holds (canonical names).
    case matching((String) -> Bool)

    func predicate(for model: TransformerModel, resolver: HookNameResolver? = nil) throws -> (String) -> Bool {
        switch self {
        case .all: return { _ in true }
        case .standard: return Self.names(model.hookPoints.filter(\.isCachedByDefault))
        case .points(let points): return Self.names(points)
        case .kinds(let kinds): return Self.names(model.hookPoints.filter { kinds.contains($0.kind) })
        case .names(let names):
            let resolver = resolver ?? model.hookNameResolver
            let set = Set(try names.map { try resolver.resolve($0) })
            return { set.contains($0) }
        case .matching(let predicate): return predicate
        }
    }

    private static func names(_ points: [HookPoint]) -> (String) -> Bool {
        let set = Set(points.map(\.name))
        return { set.contains($0) }
    }
}

/// Activations recorded during one forward pass, by canonical hook name, with the model they came from.
///
/// ```swift
/// let (logits, cache) = try model.runWithCache(batch)
/// let z = try cache["blocks.0.attn.hook_z"]            // [batch, pos, heads, dHead]
/// let resid = try cache.activation("resid_post", layer: -1)
/// let pattern = try cache[.pattern(0)]
/// ```
public struct ActivationCache {
    /// The activations, keyed by canonical hook name.
    public let activations: [String: Tensor]
    public let model: TransformerModel
    let resolver: HookNameResolver

    public init(activations: [String: Tensor], model: TransformerModel) {
        self.init(activations: activations, model: model, resolver: model.hookNameResolver)
    }

    /// A cache whose names `resolver` resolves (the model's, plus any spliced SAE's activations).
    init(activations: [String: Tensor], model: TransformerModel, resolver: HookNameResolver) {
        self.activations = activations
        self.model = model
        self.resolver = resolver
    }

    /// The activation at `name` (any accepted spelling); throws if the name is unknown or was not cached.
    public subscript(_ name: String) -> Tensor {
        get throws { try activation(name) }
    }

    /// The activation at a hook point; throws if it was not cached.
    public subscript(_ point: HookPoint) -> Tensor {
        get throws {
            guard let value = activations[point.name] else { throw ActivationCacheError.notCached(point.name) }
            return value
        }
    }

    public func activation(_ name: String) throws -> Tensor {
        let canonical = try resolver.resolve(name)
        guard let value = activations[canonical] else { throw ActivationCacheError.notCached(canonical) }
        return value
    }

    /// The activation of a short name at a layer, e.g. `("resid_pre", 3)`, `("pattern", -1)`.
    public func activation(_ shortName: String, layer: Int) throws -> Tensor {
        let canonical = try resolver.resolve(shortName, layer: layer)
        guard let value = activations[canonical] else { throw ActivationCacheError.notCached(canonical) }
        return value
    }

    /// The activation `shortName` of every layer in `layers`, stacked along a new first axis.
    public func stack(_ shortName: String, layers: Range<Int>? = nil) throws -> Tensor {
        let range = layers ?? 0..<model.layerCount
        return Tensor.stack(try range.map { try activation(shortName, layer: $0) })
    }

    /// The number of activations held.
    public var count: Int { activations.count }

    /// Bytes of activation data held.
    public var byteCount: Int { activations.values.reduce(0) { $0 + $1.count * MemoryLayout<Float>.size } }
}

/// A cache lookup that cannot be answered, or a cache that would not fit.
public enum ActivationCacheError: Error, CustomStringConvertible, Equatable {
    case notCached(String)
    case overBudget(firstRefused: String, bytesNeeded: Int, limit: Int)

    public var description: String {
        switch self {
        case .notCached(let name):
            return "activation '\(name)' was not cached in this run; include it in the cache filter"
        case let .overBudget(name, needed, limit):
            return "caching these activations needs at least \(needed / 1_048_576) MiB, over the limit of \(limit / 1_048_576) MiB "
                + "(first refused: '\(name)'); cache fewer hook points (a name filter), use shorter or fewer prompts, or raise the limit"
        }
    }
}

extension ActivationCache {
    /// The default cache limit, also the budget of the activations an analysis keeps (edge patching's sender
    /// outputs): half of the machine's physical memory, unless set (`interp --memory-limit` sets it to the limit
    /// minus the weights).
    nonisolated(unsafe) public static var defaultByteLimit = Int(ProcessInfo.processInfo.physicalMemory / 2)
}

extension TransformerModel {
    /// Runs the model, recording the activations that `filter` selects (``trace(_:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``
    /// with a cache only).
    ///
    /// Memory is proportional to what is recorded: only selected activations are kept.
    /// Past `byteLimit` bytes of activations the run stops recording and throws
    /// ``ActivationCacheError/overBudget(firstRefused:bytesNeeded:limit:)`` instead of exhausting memory.
    public func runWithCache(_ batch: TokenBatch, filter: ActivationFilter = .standard, logitPositions: LogitPositions = .all,
                             byteLimit: Int? = ActivationCache.defaultByteLimit) throws -> (logits: Tensor, cache: ActivationCache) {
        let trace = try trace(batch, cache: filter, logitPositions: logitPositions, byteLimit: byteLimit)
        return (trace.logits, trace.activations)
    }

    /// Runs the model with hook functions at the named points (any accepted spelling): ``trace(_:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``
    /// with hooks only.
    public func runWithHooks(_ batch: TokenBatch, hooks: [(String, HookFunction)],
                             logitPositions: LogitPositions = .all) throws -> Tensor {
        try trace(batch, cache: nil, hooks: hooks, logitPositions: logitPositions).logits
    }
}
