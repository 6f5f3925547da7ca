/// Maps numbers to colours: a diverging blue-white-red scale centred at 0 for signed values, a sequential
/// white-to-purple scale for values in `[0, maximum]` (probabilities, attention weights, scores).
///
/// ```swift
/// let scale = ColourScale.diverging(covering: result.values)   // symmetric around 0
/// scale.colour(0)                                             // "#ffffff"
/// ```
public struct ColourScale: Sendable {
    /// The values mapped to the first and last colour; values outside are clamped.
    public let minimum: Float
    public let maximum: Float
    /// Whether the scale is centred at 0 (white) with blue below and red above.
    public let isDiverging: Bool
    let stops: [RGB]

    /// ColorBrewer RdBu (reversed so that negative is blue), with a white centre.
    static let divergingStops: [RGB] = ["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#ffffff",
                                        "#fddbc7", "#f4a582", "#d6604d", "#b2182b"].map(RGB.init(hex:))
    /// ColorBrewer Purples, starting from white.
    static let sequentialStops: [RGB] = ["#ffffff", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8",
                                         "#807dba", "#6a51a3", "#54278f", "#3f007d"].map(RGB.init(hex:))

    /// A diverging scale over `[-limit, limit]`.
    public static func diverging(limit: Float) -> ColourScale {
        let limit = limit.isFinite && limit > 0 ? limit : 1
        return ColourScale(minimum: -limit, maximum: limit, isDiverging: true, stops: divergingStops)
    }

    /// A diverging scale symmetric around 0 that covers every finite value.
    public static func diverging(covering values: [Float]) -> ColourScale {
        diverging(limit: values.filter(\.isFinite).map(Swift.abs).max() ?? 1)
    }

    /// A sequential scale over `[0, maximum]`.
    public static func sequential(maximum: Float = 1) -> ColourScale {
        ColourScale(minimum: 0, maximum: maximum.isFinite && maximum > 0 ? maximum : 1, isDiverging: false, stops: sequentialStops)
    }

    /// The colour of `value` as `#rrggbb`; grey for NaN.
    public func colour(_ value: Float) -> String {
        rgb(value)?.hex ?? "#bbbbbb"
    }

    /// Black or white, whichever reads better on `colour(value)`.
    public func textColour(_ value: Float) -> String {
        guard let rgb = rgb(value) else { return "#000000" }
        return rgb.luminance > 0.45 ? "#222222" : "#ffffff"
    }

    func rgb(_ value: Float) -> RGB? {
        guard !value.isNaN else { return nil }
        let t = Double((Swift.min(Swift.max(value, minimum), maximum) - minimum) / (maximum - minimum))
        let position = t * Double(stops.count - 1)
        let lower = Swift.min(Int(position), stops.count - 2)
        return stops[lower].mixed(with: stops[lower + 1], by: position - Double(lower))
    }
}

/// A colour with channels in `[0, 255]`.
struct RGB {
    let red: Double, green: Double, blue: Double

    init(hex: String) {
        let value = Int(hex.dropFirst(), radix: 16)!
        red = Double((value >> 16) & 0xFF)
        green = Double((value >> 8) & 0xFF)
        blue = Double(value & 0xFF)
    }

    init(red: Double, green: Double, blue: Double) {
        (self.red, self.green, self.blue) = (red, green, blue)
    }

    func mixed(with other: RGB, by t: Double) -> RGB {
        RGB(red: red + (other.red - red) * t, green: green + (other.green - green) * t, blue: blue + (other.blue - blue) * t)
    }

    var hex: String {
        "#" + [red, green, blue].map { channel in
            let text = String(Int(channel.rounded()), radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined()
    }

    /// Relative luminance in `[0, 1]` (sRGB weights, no gamma: enough to choose a text colour).
    var luminance: Double { (0.299 * red + 0.587 * green + 0.114 * blue) / 255 }
}
