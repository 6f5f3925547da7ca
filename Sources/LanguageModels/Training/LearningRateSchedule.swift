import Foundation

/// Linear warm-up to a peak learning rate, then cosine decay to a minimum.
///
/// For update `s` (0-based): `peak (s + 1) / warmupSteps` while `s < warmupSteps`; afterwards
/// `minimum + (peak - minimum) (1 + cos(π q)) / 2` with `q = (s - warmupSteps) / (totalSteps - warmupSteps)`
/// (clamped to 1, so updates past `totalSteps` use `minimum`).
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var peak: Float
    public var minimum: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, minimum: Float = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(warmupSteps >= 0 && totalSteps >= 0, "step counts must not be negative")
        self.peak = peak; self.minimum = minimum; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    /// The learning rate of update `step` (0-based).
    public func learningRate(atStep step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let progress = min(1, Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
        return minimum + (peak - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}
