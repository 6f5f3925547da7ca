/// A function applied to an activation at a hook point; it returns the activation to continue with.
public typealias HookFunction = (_ activation: Tensor, _ context: HookContext) -> Tensor

/// Where a hook is being called.
public struct HookContext: Sendable {
    /// The canonical hook point name.
    public let name: String
    /// The absolute position of the activation's first position (nonzero during incremental decoding).
    public let positionOffset: Int
}

/// What a forward pass does at its hook points: call hooks, record a cache.
///
/// With no hook and no cache, ``apply(_:_:)`` returns its input at the cost of one branch, so a plain
/// forward pass pays nothing for being hookable.
///
/// ```swift
/// let hooks = ForwardHooks()
/// hooks.add(.z(0)) { z, _ in z * 0 }                     // ablate every head of layer 0
/// hooks.cache([.residPost(1)])
/// let logits = model.forward(batch, hooks: hooks)
/// let resid = hooks.cached[HookPoint.residPost(1).name]
/// ```
public final class ForwardHooks {
    private var functions: [String: [HookFunction]] = [:]
    private var cacheFilter: ((String) -> Bool)?
    /// Activations recorded by the cache filter, by hook name, after any hook has run.
    public private(set) var cached: [String: Tensor] = [:]
    /// The most bytes the cache may hold; past it, activations are not recorded and ``cacheOverflow`` says so.
    public var cacheByteLimit: Int?
    /// The first activation the cache refused for lack of room, and the bytes it would have needed in total.
    public private(set) var cacheOverflow: (name: String, bytesNeeded: Int)?
    private var cachedBytes = 0
    /// The absolute position of the first position in the current forward pass (set by the model).
    public internal(set) var positionOffset = 0
    /// True when some hook or a cache is registered.
    public private(set) var isActive = false

    public init() {}

    /// Registers `function` at the hook point `name`; several hooks at one point run in order.
    public func add(_ name: String, _ function: @escaping HookFunction) {
        functions[name, default: []].append(function)
        isActive = true
    }

    /// Registers `function` at `point`.
    public func add(_ point: HookPoint, _ function: @escaping HookFunction) { add(point.name, function) }

    /// Records every activation whose name satisfies `filter`.
    public func cache(where filter: @escaping (String) -> Bool) {
        cacheFilter = filter
        isActive = true
    }

    /// Records exactly the named activations.
    public func cache(_ names: Set<String>) { cache { names.contains($0) } }

    /// Records exactly the activations at `points`.
    public func cache(_ points: [HookPoint]) { cache(Set(points.map(\.name))) }

    /// Forgets the cache contents, keeping the hooks and the filter.
    public func clearCache() {
        cached.removeAll(keepingCapacity: true)
        cachedBytes = 0
        cacheOverflow = nil
    }

    /// Whether a hook or the cache wants the activation `name` (used to skip optional work).
    public func wants(_ name: String) -> Bool {
        isActive && (functions[name] != nil || cacheFilter?(name) == true)
    }

    /// Runs the hooks registered at `name` on `activation` and caches the result if asked.
    @inline(__always)
    public func apply(_ name: String, _ activation: Tensor) -> Tensor {
        guard isActive else { return activation }
        return applySlow(name, activation)
    }

    private func applySlow(_ name: String, _ activation: Tensor) -> Tensor {
        var value = activation
        if let list = functions[name] {
            let context = HookContext(name: name, positionOffset: positionOffset)
            for function in list {
                let next = function(value, context)
                precondition(next.shape == value.shape,
                             "hook at \(name) returned shape \(next.shape), expected \(value.shape)")
                value = next
            }
        }
        if let filter = cacheFilter, filter(name) { record(name, value) }
        return value
    }

    private func record(_ name: String, _ value: Tensor) {
        let bytes = value.count * MemoryLayout<Float>.size
        if let limit = cacheByteLimit, cachedBytes + bytes > limit || cacheOverflow != nil {
            cacheOverflow = (cacheOverflow?.name ?? name, (cacheOverflow?.bytesNeeded ?? cachedBytes) + bytes)
            return
        }
        cachedBytes += bytes - (cached[name]?.count ?? 0) * MemoryLayout<Float>.size
        cached[name] = value
    }
}

extension Optional where Wrapped == ForwardHooks {
    @inline(__always)
    func apply(_ name: String, _ activation: Tensor) -> Tensor {
        guard let hooks = self else { return activation }
        return hooks.apply(name, activation)
    }

    func wants(_ name: String) -> Bool { self?.wants(name) ?? false }
}
