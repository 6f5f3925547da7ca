/// How strongly each circuit edge is drawn, and in which order the threshold slider reveals edges.
extension Circuit {
    /// An edge's score when it orders edges: nil for an edge without a score or with a NaN score.
    private func rankingScore(_ edge: Edge) -> Double? {
        guard let score = scores[edge], !score.isNaN else { return nil }
        return Swift.abs(Double(score))
    }

    /// The circuit's edges by decreasing |score| (ties by name), edges without a score (or a NaN one) last:
    /// the order in which a threshold on |score| admits them.
    var rankedEdges: [Edge] {
        let keyed = edges.map { (edge: $0, score: rankingScore($0), name: graph.name(of: $0)) }
        return keyed.sorted { a, b in
            switch (a.score, b.score) {
            case let (x?, y?) where x != y: return x > y
            case (nil, _?): return false
            case (_?, nil): return true
            default: return a.name < b.name
            }
        }.map(\.edge)
    }

    /// Relative strength in `[0, 1]` of each circuit edge: √ of its share of the largest finite |score|
    /// (1 for an infinite one), 0.5 for an edge without a score or with a NaN score.
    var strengths: [Edge: Double] {
        let largest = edges.compactMap(rankingScore).filter(\.isFinite).max() ?? 0
        return Dictionary(uniqueKeysWithValues: edges.map { edge in
            (edge, rankingScore(edge).map { largest > 0 ? Swift.min(1, $0 / largest).squareRoot() : 1 } ?? 0.5)
        })
    }
}
