import Foundation
import Testing
import TestScratch
import Circuits

/// Inputs found by the fuzzers (scripts/fuzz.sh) that crashed, hung or exhausted memory, minimized; each
/// must now be refused quickly with an error naming the file and the field at fault.
@Suite struct FuzzRegressionTests {
    /// A 100-byte circuit file whose graph shape claimed a million layers made the reader build a graph of
    /// trillions of edges (out of memory). The shape is now checked against the edges the file lists first.
    @Test func circuitFileWithHugeGraphShape() throws {
        let error = try circuitReadError(#"{"graph":{"n_layers":1000000,"n_heads":1,"n_kv_heads":1,"mlps":true},"nodes":{},"edges":{},"metadata":{}}"#)
        #expect(error.contains("lists 0 edges") && error.contains("n_layers: 1000000") && error.contains("has more than 16777216"))
    }

    /// The edge count of the shape is computed without building the graph, so it must agree with the graph
    /// for every shape: files written by `jsonData()` read back.
    @Test(arguments: [(1, 1, 1, true), (2, 2, 1, false), (3, 4, 2, true), (2, 3, 3, false)])
    func circuitFilesOfEveryShapeReadBack(shape: (layers: Int, heads: Int, keyValueHeads: Int, mlps: Bool)) throws {
        let graph = ComputationGraph(layerCount: shape.layers, headCount: shape.heads,
                                     keyValueHeadCount: shape.keyValueHeads, hasMLPs: shape.mlps)
        let circuit = Circuit(graph: graph, edges: Set(graph.edges.prefix(2)))
        let read = try withTemporaryFile(circuit.jsonData(), named: "circuit.json") { try Circuit.read(from: $0) }
        #expect(read.graph.edges == graph.edges && read.edges == circuit.edges)
    }

    /// The edges of the grouped-query seed were enumerated by scripts/make_fuzz_corpus.py from the
    /// documented naming, independently of ComputationGraph.
    @Test func circuitFileListingEveryEdgeOfAGroupedQueryGraph() throws {
        let url = repositoryRoot.appendingPathComponent("Fuzz/Corpus/fuzz-circuit-file/grouped-query.json")
        let listed = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let circuit = try Circuit.read(from: url)
        #expect(Set(circuit.graph.edges.map(circuit.graph.name(of:))) == Set((listed["edges"] as! [String: Any]).keys))
    }

    @Test func circuitFileMissingSomeEdges() throws {
        let url = repositoryRoot.appendingPathComponent("Fuzz/Corpus/fuzz-circuit-file/missing-edges.json")
        #expect(throws: CircuitError.invalidFile(path: url.path, reason:
            "lists 8 edges but its graph GraphShape(n_layers: 1, n_heads: 2, n_kv_heads: 2, mlps: true) has 13; "
            + "a circuit file lists every edge of its graph")) { try Circuit.read(from: url) }
    }

    /// An empty `{"String": ""}` pattern (Split pre-tokenizer, Replace normalizer or decoder) crashed loading:
    /// Foundation on Linux refuses to compile an empty regular expression. Minimized input below.
    @Test func tokenizerWithAnEmptyLiteralPattern() throws {
        let minimized = #"{"pre_tokenizer":{"type":"Split","pattern":{"String":""}}}"#
        #expect(throws: TokenizerError.invalidField(file: "tokenizer.json", field: "pre_tokenizer.behavior", expected: "present")) {
            try HuggingFaceTokenizer(tokenizerJSON: Data(minimized.utf8))
        }
    }

    /// A vocabulary id beyond 32 bits crashed encoding (fuzz-tokenizer-json: the byte-pair model packs ids in 32
    /// bits); the tokenizers library refuses such files, and negative ids, too ("invalid value: integer
    /// `7999999999999993`, expected u32"). Added tokens' ids are checked alike.
    @Test(arguments: [7_999_999_999_999_993, -1])
    func tokenizerWithAnOutOfRangeTokenID(id: Int) throws {
        let expected = "a token id (an integer from 0 to 2147483647)"
        let vocabulary = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": \#(id)}, "merges": []}}"#
        #expect(throws: TokenizerError.invalidField(file: "tokenizer.json", field: "model.vocab.b", expected: expected)) {
            try HuggingFaceTokenizer(tokenizerJSON: Data(vocabulary.utf8))
        }
        let added = #"{"added_tokens": [{"id": \#(id), "content": "b"}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#
        #expect(throws: TokenizerError.invalidField(file: "tokenizer.json", field: "added_tokens[0].id", expected: expected)) {
            try HuggingFaceTokenizer(tokenizerJSON: Data(added.utf8))
        }
    }

    /// An empty pattern matches the empty string at every position, as in the tokenizers library, whose
    /// outputs these are (tokenizers 0.22: Split "" -> ["a", "b"]; Replace "" -> "x" normalizes "ab" to
    /// "xaxbx" and decodes the tokens "a", "b" to "xaxxbx").
    @Test(arguments: [#"{"String": ""}"#, #"{"Regex": ""}"#])
    func emptyPatternsMatchEveryPosition(pattern: String) throws {
        let vocabulary = #""model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1, "b": 2, "xaxbx": 4}, "unk_token": "[UNK]"}"#
        let splitting = try HuggingFaceTokenizer(tokenizerJSON: Data(#"""
            {\#(vocabulary), "pre_tokenizer": {"type": "Split", "pattern": \#(pattern), "behavior": "Isolated"}}
            """#.utf8))
        #expect(try splitting.encode("ab") == [1, 2])
        let replacing = try HuggingFaceTokenizer(tokenizerJSON: Data(#"""
            {\#(vocabulary), "normalizer": {"type": "Replace", "pattern": \#(pattern), "content": "x"},
             "decoder": {"type": "Replace", "pattern": \#(pattern), "content": "x"}}
            """#.utf8))
        #expect(try replacing.encode("ab") == [4])
        #expect(replacing.decode([1, 2]) == "xaxxbx")
    }

    private func circuitReadError(_ json: String) throws -> String {
        try withTemporaryFile(Data(json.utf8), named: "circuit.json") { url in
            do {
                _ = try Circuit.read(from: url)
            } catch let error as CircuitError {
                let message = error.description
                #expect(message.hasPrefix(url.path + ": "))
                return message
            }
            Issue.record("\(json) was read without an error")
            return ""
        }
    }
}
