import Circuits
import Foundation
import Testing
import TestScratch

@Suite struct CircuitViewCLITests {
    /// `interp graph --html` draws small circuits statically, large ones interactively, or as `--circuit-view` says.
    @Test func circuitViewIsChosenBySizeOrAsTold() throws {
        try withTemporaryDirectory { directory in
            let graph = ComputationGraph(layerCount: 4, headCount: 4)
            let scores = Dictionary(uniqueKeysWithValues: graph.edges.enumerated().map { ($1, Float($0 % 17) - 8) })
            func circuit(_ count: Int) throws -> String {
                let path = directory.appendingPathComponent("circuit-\(count).json").path
                try Circuit(graph: graph, edges: Set(graph.edges.prefix(count)), scores: scores).jsonData().write(to: URL(fileURLWithPath: path))
                return path
            }
            func page(_ circuit: String, _ options: [String] = []) throws -> String {
                let html = directory.appendingPathComponent("view.html").path
                let result = try CLI.run(["graph", "--circuit", circuit, "--html", html] + options)
                #expect(result.status == 0, "\(result.standardError)")
                return try String(contentsOfFile: html, encoding: .utf8)
            }
            let small = try circuit(20), large = try circuit(200)
            let interactive = "<figure class=\"circuit-explorer\""
            #expect(try !page(small).contains("circuit-explorer"))
            #expect(try page(large).contains(interactive))
            #expect(try page(small, ["--circuit-view", "interactive"]).contains(interactive))
            #expect(try !page(large, ["--circuit-view", "static"]).contains("circuit-explorer"))
            let bad = try CLI.run(["graph", "--circuit", small, "--html", directory.appendingPathComponent("x.html").path, "--circuit-view", "fancy"])
            #expect(bad.status != 0 && bad.standardError.contains("circuit-view"), "\(bad.standardError)")
        }
    }
}
