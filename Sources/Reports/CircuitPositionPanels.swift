import Circuits

/// A position-aware circuit (see ``PositionBuckets``) drawn as one panel per position bucket that has edges,
/// in the buckets' order: each panel is the plain drawing (layers as rows) of the edges at that position,
/// titled with the position. Residual edges never cross positions, so each panel is a whole picture of what
/// is read and written at its position; information moves between panels only inside attention (a head's
/// key and value inputs at one position are read by its queries at later ones), which the panels' key and
/// value edges show.
extension CircuitView {
    /// One plain view per position bucket the circuit uses, with its label.
    var positionPanels: [(label: String, view: CircuitView)] {
        circuit.positionsUsed.map { (circuit.graph.positions[$0], CircuitView(circuit.edges(atPosition: $0), style: style)) }
    }

    /// The panels' HTML under one heading line.
    var positionPanelsHTML: String {
        let panels = positionPanels
        let intro = circuit.summary() + ", over positions " + circuit.graph.positions.joined(separator: ", ")
            + " (one panel per position with edges; an edge s@P->r@P is the part of r's input that s writes at position P; "
            + "information crosses positions only through a head's key and value inputs)."
        guard !panels.isEmpty else { return "<p>" + Markup.escape(intro + " No edges.") + "</p>" }
        return "<p>" + Markup.escape(intro) + "</p>\n" + panels.map { label, view in
            "<h3>" + Markup.escape("Position \(label): \(view.circuit.edges.count) edges") + "</h3>\n" + view.html
        }.joined(separator: "\n")
    }
}

extension CircuitView {
    /// The positions drawn as panels, in order (empty for a plain circuit).
    public var positionPanelNames: [String] { positionPanels.map(\.label) }
}
