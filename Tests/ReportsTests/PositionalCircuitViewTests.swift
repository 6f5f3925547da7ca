import Foundation
import Testing
import Reports

/// A position-aware circuit is drawn as one plain panel per position that has edges.
@Suite struct PositionalCircuitViewTests {
    @Test func onePanelPerPositionWithEdges() throws {
        let graph = ComputationGraph(layerCount: 2, headCount: 2, positions: ["S2", "END", "other"])
        let byName = graph.edgesByName()
        let edges: Set = [byName["a0.h1@S2->a1.h0<k>@S2"]!, byName["a1.h0@END->logits@END"]!, byName["input@END->a1.h0<q>@END"]!]
        let view = CircuitView(Circuit(graph: graph, edges: edges, scores: [byName["a1.h0@END->logits@END"]!: 2]), style: .static)
        #expect(view.positionPanelNames == ["S2", "END"])
        let html = view.html
        #expect(html.contains("Position S2: 1 edges") && html.contains("Position END: 2 edges") && !html.contains("Position other"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        #expect(view.pageAssets.isEmpty)
    }
}
