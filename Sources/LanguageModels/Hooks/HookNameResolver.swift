import Foundation

/// Resolves user-written activation names to the canonical hook point names of one model.
///
/// Accepts TransformerLens names (`blocks.3.attn.hook_z`), negative layer indices (`blocks.-1.hook_resid_post`),
/// TransformerLens' short form (`resid_pre`, layer 3 via ``resolve(_:layer:)``) and the seed library's module paths
/// (`layers.7.self_attn` is the attention output, `layers.7.mlp` the MLP output, `model.layers.7` or `layers.7`
/// the block output). An unknown name is an error that suggests the nearest valid names.
public struct HookNameResolver: Sendable {
    /// Every hook point the model calls, in forward order.
    public let names: [String]
    public let layerCount: Int
    private let known: Set<String>

    public init(names: [String], layerCount: Int) {
        self.names = names
        self.layerCount = layerCount
        known = Set(names)
    }

    /// This resolver, also accepting `extra` names exactly as written (e.g. the activations of spliced SAEs).
    public func adding(_ extra: [String]) -> HookNameResolver {
        HookNameResolver(names: names + extra, layerCount: layerCount)
    }

    /// The canonical name for `name`.
    public func resolve(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if known.contains(trimmed) { return trimmed }
        var parts = trimmed.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.first == "model" { parts.removeFirst() }
        if parts.first == "layers" || parts.first == "blocks", parts.count >= 2, let raw = Int(parts[1]) {
            let layer = try resolveLayer(raw, in: name)
            let rest = parts.dropFirst(2).joined(separator: ".")
            let candidate = "blocks.\(layer)." + (Self.moduleAliases[rest] ?? rest)
            if known.contains(candidate) { return candidate }
        }
        throw HookNameError.unknown(name: name, suggestions: suggestions(for: trimmed))
    }

    /// The canonical name of a short activation name at a layer, e.g. `("resid_pre", 3)` or `("z", -1)`.
    public func resolve(_ shortName: String, layer: Int) throws -> String {
        let layer = try resolveLayer(layer, in: "\(shortName) at layer \(layer)")
        for candidate in ["blocks.\(layer).hook_\(shortName)", "blocks.\(layer).attn.hook_\(shortName)",
                          "blocks.\(layer).mlp.hook_\(shortName)", "blocks.\(layer).\(shortName)"]
        where known.contains(candidate) {
            return candidate
        }
        return try resolve(shortName.contains(".") ? shortName : "blocks.\(layer).\(shortName)")
    }

    /// A layer index with negative values counting from the end.
    public func resolveLayer(_ layer: Int, in name: String) throws -> Int {
        let resolved = layer < 0 ? layer + layerCount : layer
        guard resolved >= 0 && resolved < layerCount else {
            throw HookNameError.layerOutOfRange(name: name, layer: layer, layerCount: layerCount)
        }
        return resolved
    }

    /// Seed-library and module-style suffixes, mapped to hook points.
    static let moduleAliases: [String: String] = [
        "": "hook_resid_post",
        "self_attn": "hook_attn_out", "attn": "hook_attn_out", "attention": "hook_attn_out",
        "mlp": "hook_mlp_out", "feed_forward": "hook_mlp_out",
        "input_layernorm": "ln1.hook_normalized", "post_attention_layernorm": "ln2.hook_normalized",
        "ln_1": "ln1.hook_normalized", "ln_2": "ln2.hook_normalized",
        "resid_pre": "hook_resid_pre", "resid_mid": "hook_resid_mid", "resid_post": "hook_resid_post",
        "attn_out": "hook_attn_out", "mlp_out": "hook_mlp_out",
    ]

    /// The valid names closest to `name` by edit distance.
    public func suggestions(for name: String, count: Int = 3) -> [String] {
        let target = Array(name)
        let scored: [(name: String, distance: Int)] = names.map { ($0, Self.editDistance(Array($0), target)) }
        let ranked = scored.sorted { lhs, rhs in
            lhs.distance != rhs.distance ? lhs.distance < rhs.distance : lhs.name < rhs.name
        }
        return ranked.prefix(count).map(\.name)
    }

    /// Levenshtein distance between two character arrays.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [Int](repeating: 0, count: b.count + 1)
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// A hook name that does not exist in the model.
public enum HookNameError: Error, CustomStringConvertible, Equatable {
    case unknown(name: String, suggestions: [String])
    case layerOutOfRange(name: String, layer: Int, layerCount: Int)

    public var description: String {
        switch self {
        case let .unknown(name, suggestions):
            return "unknown hook point '\(name)'; did you mean \(suggestions.map { "'\($0)'" }.joined(separator: ", "))?"
        case let .layerOutOfRange(name, layer, count):
            return "layer \(layer) in '\(name)' is out of range: the model has \(count) layers (0...\(count - 1), or -\(count)...-1)"
        }
    }
}
