import ArgumentParser
import Circuits
import Foundation

/// `interp logits`: every position's logits for a batch of token ids, as JSON, for comparison with other
/// implementations (scripts/sweep_family_configs.py compares them with transformers').
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Write the logits of a batch of token ids as JSON.",
        discussion: """
        The input file holds {"input_ids": [[id, ...], ...], "attention_mask": [[0|1, ...], ...]} (the mask is \
        optional; 0 marks padding, e.g. on the left). The output is {"logits": [batch][position][vocabulary]}.
        Example: interp logits --model ~/models/gpt2 --input ids.json --output logits.json
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: ArgumentHelp("JSON file with input_ids and an optional attention_mask.", valueName: "file")) var input: String
    @Option(help: ArgumentHelp("Where to write the logits (default: standard output).", valueName: "file")) var output: String?
    @Flag(help: "Feed one position at a time through the key-value cache instead of the whole batch at once.")
    var incremental = false

    struct Input: Decodable {
        let inputIDs: [[Int]]
        let attentionMask: [[Int]]?
        enum CodingKeys: String, CodingKey { case inputIDs = "input_ids", attentionMask = "attention_mask" }
    }

    struct Result: Encodable { let logits: [[[Float]]] }

    func run() throws {
        let request: Input
        do {
            request = try JSONDecoder().decode(Input.self, from: Data(contentsOfFileOrStream: URL(fileURLWithPath: input)))
        } catch {
            throw CLIError("\(input): not a JSON object with input_ids [[Int]] and an optional attention_mask (\(error))")
        }
        let ids = request.inputIDs
        let mask = request.attentionMask?.map { $0.map { $0 != 0 } } ?? ids.map { $0.map { _ in true } }
        guard let length = ids.first?.count, length > 0, ids.allSatisfy({ $0.count == length }),
              mask.count == ids.count, mask.allSatisfy({ $0.count == length }) else {
            throw CLIError("\(input): input_ids must be non-empty rows of equal length, attention_mask of the same shape")
        }
        let lm = try model.load()
        let vocabulary = lm.model.vocabularySize
        if let bad = ids.joined().first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw CLIError("\(input): token id \(bad) is outside the vocabulary of \(vocabulary)")
        }
        guard length <= lm.model.contextLength else {
            throw CLIError("\(input): \(length) positions exceed the model's context of \(lm.model.contextLength)")
        }
        let logits: Tensor
        if incremental {
            let cache = KeyValueCache(layerCount: lm.model.layerCount)
            logits = Tensor.concatenate((0..<length).map { p in
                lm.model.forward(TokenBatch(tokens: ids.map { [$0[p]] }, mask: mask.map { [$0[p]] }), cache: cache)
            }, axis: 1)
        } else {
            logits = lm.model.forward(TokenBatch(tokens: ids, mask: mask))
        }
        let values = logits.scalars
        let rows = (0..<ids.count).map { b in
            (0..<length).map { p in Array(values[((b * length + p) * vocabulary)..<((b * length + p + 1) * vocabulary)]) }
        }
        let data = try JSONEncoder().encode(Result(logits: rows))
        if let output { try Output.write(data, to: output) } else { print(String(decoding: data, as: UTF8.self)) }
    }
}
