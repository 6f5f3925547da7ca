import Foundation

/// Rebuilds the tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata, as transformers does when it
/// loads a GGUF (`integrations/gguf/gguf_tokenizer_mapping.py`): the vocabulary becomes a `tokenizer.json` handed to
/// ``HuggingFaceTokenizer``.
///
/// - `tokenizer.ggml.model` `gpt2`: byte-level BPE with the file's merges; tokens outside the byte alphabet are
///   respelled in it. `tokenizer.ggml.pre` picks the split expression the merges were learned with (`llama-bpe`,
///   `qwen2`, ... as transformers maps them); other names keep GPT-2's.
/// - `llama`: SentencePiece-style BPE with byte fallback and Metaspace (`▁` prepended to the first word), merges
///   from the file or, as llama.cpp files have none, recovered from the token scores. Gemma files (`gemma`,
///   `gemma2`, `gemma3`) build `GemmaTokenizer` instead (see `gemmaSentencePiece`).
/// - Tokens typed CONTROL (3) and the BOS, EOS, padding and unknown tokens are special added tokens, matched whole;
///   USER_DEFINED (4) ones are plain added tokens.
/// - BOS/EOS from `tokenizer.ggml.bos_token_id` / `eos_token_id`, added when `tokenizer.ggml.add_bos_token` /
///   `add_eos_token` say so (SentencePiece vocabularies add BOS unless told not to).
///
/// ```swift
/// let tokenizer = try GGUFTokenizer.tokenizer(from: try GGUFFile(contentsOf: url))
/// ```
public enum GGUFTokenizer {
    /// The split expressions transformers uses for each `tokenizer.ggml.pre` name.
    static let splitExpressions: [String: String] = {
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let tekken = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let gpt4o = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        var expressions: [String: String] = [:]
        for name in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe"] {
            expressions[name] = llama3
        }
        for name in ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"] { expressions[name] = qwen2 }
        for name in ["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"] { expressions[name] = gpt4o }
        expressions["tekken"] = tekken
        return expressions
    }()

    /// The token types of llama.cpp's `llama_token_type`.
    enum TokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The tokenizer of `file`; throws naming the file and the metadata key at fault.
    public static func tokenizer(from file: GGUFFile) throws -> HuggingFaceTokenizer {
        let (tokenizerJSON, configJSON) = try tokenizerFiles(from: file)
        do {
            return try HuggingFaceTokenizer(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: configJSON)
        } catch let error as TokenizerError {
            throw LoadingError("\(file.url.path): the tokenizer described by tokenizer.ggml.* is inconsistent: \(error)")
        }
    }

    /// The tokenizer of `file` as the `tokenizer.json` and `tokenizer_config.json` a Hugging Face directory carries.
    public static func files(from file: GGUFFile) throws -> TokenizerFiles {
        let (tokenizer, config) = try tokenizerFiles(from: file)
        return TokenizerFiles(tokenizerJSON: String(decoding: tokenizer, as: UTF8.self),
                              tokenizerConfigJSON: String(decoding: config, as: UTF8.self))
    }

    /// The `tokenizer.json` and `tokenizer_config.json` contents equivalent to the metadata of `file`.
    static func tokenizerFiles(from file: GGUFFile) throws -> (tokenizer: Data, config: Data) {
        guard let model = try file.string("tokenizer.ggml.model") else {
            throw file.metadataError("tokenizer.ggml.model", "is missing: the file has no tokenizer")
        }
        guard let tokens = try file.array("tokenizer.ggml.tokens", of: "strings", \.string), !tokens.isEmpty else {
            throw file.metadataError("tokenizer.ggml.tokens", "is missing or empty")
        }
        let types = try file.array("tokenizer.ggml.token_type", of: "integers", \.integer)
        if let types, types.count != tokens.count {
            throw file.metadataError("tokenizer.ggml.token_type", "has \(types.count) entries for \(tokens.count) tokens")
        }
        func tokenID(_ key: String) throws -> Int? {
            guard let id = try file.integer(key) else { return nil }
            guard id >= 0 && id < tokens.count else { throw file.metadataError(key, "\(id) is outside the \(tokens.count) tokens") }
            return id
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id"), eos = try tokenID("tokenizer.ggml.eos_token_id")
        let pad = try tokenID("tokenizer.ggml.padding_token_id")

        let gemma = gemmaArchitectures.contains(try file.string("general.architecture") ?? "")
        var tokenizer: [String: Any]
        let vocabulary: [String]
        let addBOSByDefault: Bool
        switch model {
        case "gpt2":
            vocabulary = tokens.map(ByteLevelAlphabet.spelling(of:))
            tokenizer = try byteLevel(file, vocabulary: vocabulary)
            addBOSByDefault = false
        case "llama" where gemma:
            vocabulary = tokens.map(gemmaSpelling(of:))
            let unknown = try tokenID("tokenizer.ggml.unknown_token_id").map { tokens[$0] }
            tokenizer = try gemmaSentencePiece(file, vocabulary: vocabulary, unknown: unknown)
            addBOSByDefault = true
        case "llama":
            vocabulary = tokens
            tokenizer = try sentencePiece(file, tokens: tokens)
            addBOSByDefault = true
        default:
            throw file.metadataError("tokenizer.ggml.model", "'\(model)' is not supported (supported: gpt2, llama)")
        }
        var named = try [bos, eos, pad, tokenID("tokenizer.ggml.unknown_token_id")].compactMap { $0 }
        if gemma && model == "llama", let mask = tokens.firstIndex(of: "<mask>") { named.append(mask) }
        tokenizer["added_tokens"] = addedTokens(tokens: tokens, vocabulary: vocabulary, types: types ?? [], named: Set(named),
                                                byteLevel: model == "gpt2")
        tokenizer["normalizer"] = tokenizer["normalizer"] ?? NSNull()
        let addBOS = try file.bool("tokenizer.ggml.add_bos_token") ?? addBOSByDefault
        let addEOS = try file.bool("tokenizer.ggml.add_eos_token") ?? false
        tokenizer["post_processor"] = template(bos: addBOS ? bos.map { (vocabulary[$0], $0) } : nil,
                                               eos: addEOS ? eos.map { (vocabulary[$0], $0) } : nil)
        var config: [String: Any] = [:]
        for (key, id) in [("bos_token", bos), ("eos_token", eos), ("pad_token", pad)] {
            config[key] = id.map { vocabulary[$0] } ?? NSNull()
        }
        return (try JSONSerialization.data(withJSONObject: tokenizer), try JSONSerialization.data(withJSONObject: config))
    }

    /// Byte-level BPE (transformers' `GPT2Tokenizer`), split as `tokenizer.ggml.pre` says.
    private static func byteLevel(_ file: GGUFFile, vocabulary: [String]) throws -> [String: Any] {
        guard let merges = try file.array("tokenizer.ggml.merges", of: "strings", \.string) else {
            throw file.metadataError("tokenizer.ggml.merges", "is missing (a gpt2 vocabulary needs its merges)")
        }
        let preTokenizer: [String: Any]
        if let pre = try file.string("tokenizer.ggml.pre"), let expression = splitExpressions[pre] {
            preTokenizer = ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": expression], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false],
            ]]
        } else {
            preTokenizer = ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]
        }
        return ["model": ["type": "BPE", "vocab": try vocabularyObject(file, vocabulary), "merges": merges],
                "pre_tokenizer": preTokenizer, "decoder": ["type": "ByteLevel"]]
    }

    /// SentencePiece-style BPE (transformers' `LlamaTokenizer`): byte fallback, `▁` for spaces, prepended once.
    private static func sentencePiece(_ file: GGUFFile, tokens: [String]) throws -> [String: Any] {
        let merges: [String]
        if let stored = try file.array("tokenizer.ggml.merges", of: "strings", \.string) {
            merges = stored
        } else {
            guard let scores = try file.array("tokenizer.ggml.scores", of: "numbers", \.number) else {
                throw file.metadataError("tokenizer.ggml.scores", "is missing (a llama vocabulary without merges needs its scores)")
            }
            guard scores.count == tokens.count else {
                throw file.metadataError("tokenizer.ggml.scores", "has \(scores.count) entries for \(tokens.count) tokens")
            }
            if let bad = scores.firstIndex(where: { !$0.isFinite }) {
                throw file.metadataError("tokenizer.ggml.scores", "has the non-finite score \(scores[bad]) at index \(bad)")
            }
            merges = mergesFromScores(tokens: tokens, scores: scores)
        }
        return ["model": ["type": "BPE", "vocab": try vocabularyObject(file, tokens), "merges": merges,
                          "fuse_unk": true, "byte_fallback": true],
                "pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false],
                "decoder": ["type": "Sequence", "decoders": [
                    ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
                    ["type": "Strip", "content": " ", "start": 1, "stop": 0],
                ]]]
    }

    /// The architectures whose `llama` vocabularies are Gemma's (transformers' `gemma_tokenizer`).
    static let gemmaArchitectures: Set<String> = ["gemma", "gemma2", "gemma3"]

    /// A Gemma token as `GemmaTokenizer` spells it: a token of spaces only (llama.cpp stores runs of spaces as
    /// real spaces) becomes as many `▁`.
    static func gemmaSpelling(of token: String) -> String {
        let scalars = token.unicodeScalars
        guard scalars.contains(" "), scalars.allSatisfy(\.properties.isWhitespace) else { return token }
        return String(repeating: "▁", count: scalars.count)
    }

    /// Gemma's SentencePiece-style BPE (transformers' `GemmaTokenizer`, as its GGUF loader builds it): spaces
    /// replaced by `▁` with nothing prepended, byte fallback, merges from the file or else recovered from the
    /// vocabulary with the token's position as its score (Gemma's stored scores do not follow its merge order),
    /// and the `<mask>` token special as `GemmaTokenizer`'s default mask token.
    private static func gemmaSentencePiece(_ file: GGUFFile, vocabulary: [String], unknown: String?) throws -> [String: Any] {
        let merges = try file.array("tokenizer.ggml.merges", of: "strings", \.string)
            ?? mergesFromScores(tokens: vocabulary, scores: vocabulary.indices.map { -Double($0) })
        var model: [String: Any] = ["type": "BPE", "vocab": try vocabularyObject(file, vocabulary), "merges": merges,
                                    "fuse_unk": true, "byte_fallback": true]
        if let unknown { model["unk_token"] = unknown }
        return ["model": model,
                "normalizer": ["type": "Replace", "pattern": ["String": " "], "content": "▁"],
                "pre_tokenizer": ["type": "Split", "pattern": ["String": " "], "behavior": "MergedWithPrevious", "invert": false],
                "decoder": ["type": "Sequence", "decoders": [
                    ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
                ]]]
    }

    /// The vocabulary as a `{token: id}` object; a token listed twice keeps its last id, as in transformers.
    private static func vocabularyObject(_ file: GGUFFile, _ vocabulary: [String]) throws -> [String: Int] {
        var ids: [String: Int] = [:]
        for (id, token) in vocabulary.enumerated() { ids[token] = id }
        return ids
    }

    /// The merges a vocabulary implies when the file lists none (transformers' `generate_merges` with scores): every
    /// split of every token into two tokens, best score first, then shorter left and right parts first.
    static func mergesFromScores(tokens: [String], scores: [Double]) -> [String] {
        var ids: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { ids[token] = id }
        var scoreOfToken: [String: Double] = [:]
        var order: [String] = []
        for (token, score) in zip(tokens, scores) {
            if scoreOfToken.updateValue(score, forKey: token) == nil { order.append(token) }
        }
        var candidates: [(left: String, right: String, score: Double, leftLength: Int, rightLength: Int, index: Int)] = []
        for token in order {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1 else { continue }
            var local: [(left: String, right: String, leftID: Int, rightID: Int, leftLength: Int)] = []
            for cut in 1..<scalars.count {
                let left = String(String.UnicodeScalarView(scalars[..<cut])), right = String(String.UnicodeScalarView(scalars[cut...]))
                if let leftID = ids[left], let rightID = ids[right] { local.append((left, right, leftID, rightID, cut)) }
            }
            local.sort { ($0.leftID, $0.rightID) < ($1.leftID, $1.rightID) }
            for merge in local {
                candidates.append((merge.left, merge.right, scoreOfToken[token]!, merge.leftLength, scalars.count - merge.leftLength, candidates.count))
            }
        }
        candidates.sort { ($1.score, $1.leftLength, $1.rightLength, $0.index) < ($0.score, $0.leftLength, $0.rightLength, $1.index) }
        return candidates.map { "\($0.left) \($0.right)" }
    }

    /// CONTROL tokens (in a byte-level vocabulary only those spelled in the byte alphabet) and the tokens the
    /// metadata names (BOS, EOS, padding, unknown) as special added tokens, USER_DEFINED tokens present in the
    /// vocabulary as plain ones.
    private static func addedTokens(tokens: [String], vocabulary: [String], types: [Int], named: Set<Int>,
                                    byteLevel: Bool) -> [[String: Any]] {
        var added: [[String: Any]] = []
        for (id, token) in tokens.enumerated() {
            let special: Bool
            switch types.indices.contains(id) ? TokenType(rawValue: types[id]) : nil {
            case _ where named.contains(id): special = true
            case .control where !byteLevel || ByteLevelAlphabet.bytes(of: token) != nil: special = true
            case .userDefined where vocabulary[id] == token: special = false
            default: continue
            }
            added.append(["id": id, "content": token, "special": special, "normalized": false,
                          "lstrip": false, "rstrip": false, "single_word": false])
        }
        return added
    }

    /// A `TemplateProcessing` post-processor putting BOS before and EOS after the text when given.
    private static func template(bos: (token: String, id: Int)?, eos: (token: String, id: Int)?) -> [String: Any] {
        var single: [[String: Any]] = []
        var special: [String: Any] = [:]
        if let bos {
            single.append(["SpecialToken": ["id": bos.token, "type_id": 0]])
            special[bos.token] = ["id": bos.token, "ids": [bos.id], "tokens": [bos.token]]
        }
        single.append(["Sequence": ["id": "A", "type_id": 0]])
        if let eos {
            single.append(["SpecialToken": ["id": eos.token, "type_id": 0]])
            special[eos.token] = ["id": eos.token, "ids": [eos.id], "tokens": [eos.token]]
        }
        return ["type": "TemplateProcessing", "single": single, "pair": single, "special_tokens": special]
    }
}

extension ByteLevelAlphabet {
    /// `token` itself when every scalar is in the alphabet, otherwise its UTF-8 bytes spelled with it.
    static func spelling(of token: String) -> String {
        bytes(of: token) != nil ? token : encode(token)
    }
}
