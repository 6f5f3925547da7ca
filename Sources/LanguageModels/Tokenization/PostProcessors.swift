/// Adds the special tokens of a model (BOS, EOS, CLS, SEP) around the ids of a text.
protocol PostProcessor: Sendable {
    func process(_ ids: [Int], addSpecialTokens: Bool) -> [Int]
    /// The special token ids placed before and after the text, used to find BOS and EOS when
    /// tokenizer_config.json does not name them.
    var surroundingIDs: (before: [Int], after: [Int]) { get }
}

/// Reads the `post_processor` of a tokenizer.json file.
func makePostProcessor(_ json: JSONField) throws -> any PostProcessor {
    let type = try json.componentType()
    switch type {
    case "Sequence":
        return PostProcessorSequence(processors: try json.required("processors").array().map(makePostProcessor))
    case "ByteLevel":
        // Only adjusts offsets, which this package does not report.
        return SurroundingProcessor(before: [], after: [])
    case "TemplateProcessing":
        return try SurroundingProcessor(template: json)
    case "RobertaProcessing", "BertProcessing":
        func tokenID(_ key: String) throws -> Int {
            let field = try json.required(key)
            let pair = try field.array()
            guard pair.count == 2 else { throw field.invalid(#"a pair ["token", id]"#) }
            return try pair[1].int()
        }
        return SurroundingProcessor(before: [try tokenID("cls")], after: [try tokenID("sep")])
    default:
        throw json.unsupported(type)
    }
}

/// Applies post-processors one after the other.
struct PostProcessorSequence: PostProcessor {
    let processors: [any PostProcessor]

    func process(_ ids: [Int], addSpecialTokens: Bool) -> [Int] {
        processors.reduce(ids) { ids, processor in processor.process(ids, addSpecialTokens: addSpecialTokens) }
    }

    var surroundingIDs: (before: [Int], after: [Int]) {
        processors.reduce((before: [Int](), after: [Int]())) { result, processor in
            let ids = processor.surroundingIDs
            return (ids.before + result.before, result.after + ids.after)
        }
    }
}

/// Puts fixed ids before and after the text: `RobertaProcessing` and `BertProcessing` (CLS ... SEP),
/// and `TemplateProcessing` for a single sequence (its `single` template, e.g. "<s> $A" for Llama).
struct SurroundingProcessor: PostProcessor {
    let before: [Int]
    let after: [Int]

    init(before: [Int], after: [Int]) {
        self.before = before
        self.after = after
    }

    /// Reads a `TemplateProcessing` post-processor.
    init(template json: JSONField) throws {
        var specialIDs: [String: [Int]] = [:]
        for (name, token) in try json.required("special_tokens").members() {
            specialIDs[name] = try token.required("ids").array().map { try $0.int() }
        }
        var before: [Int] = []
        var after: [Int] = []
        var seenSequence = false
        for piece in try json.required("single").array() {
            if let sequence = try piece.member("Sequence") {
                guard try sequence.required("id").string() == "A", !seenSequence else {
                    throw sequence.invalid(#"the single sequence "A", once"#)
                }
                seenSequence = true
            } else if let special = try piece.member("SpecialToken") {
                let nameField = try special.required("id")
                guard let ids = specialIDs[try nameField.string()] else {
                    throw nameField.invalid("a token listed in special_tokens")
                }
                if seenSequence { after += ids } else { before += ids }
            } else {
                throw piece.invalid(#"{"Sequence": ...} or {"SpecialToken": ...}"#)
            }
        }
        guard seenSequence else { throw json.invalid(#"a template whose "single" contains the sequence A"#) }
        self.init(before: before, after: after)
    }

    func process(_ ids: [Int], addSpecialTokens: Bool) -> [Int] {
        addSpecialTokens ? before + ids + after : ids
    }

    var surroundingIDs: (before: [Int], after: [Int]) { (before, after) }
}
