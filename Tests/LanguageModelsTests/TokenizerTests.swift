import Foundation
import LanguageModels
import Tensors
import Testing
import TestScratch

/// Reference results computed by the Hugging Face `tokenizers` library (and, for BOS/EOS/PAD,
/// `transformers`) with scripts/make_tokenizer_fixtures.py.
private struct TokenizerReference: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let idsWithoutSpecialTokens: [Int]
        let decoded: String
        let decodedSkippingSpecialTokens: String
        let decodedOneByOne: [String]
        let decodedWindowsOfThree: [String]
    }

    struct TokenID: Decodable {
        let token: String
        let id: Int
        /// Differs from `token` for added tokens that match normalized text: they read normalized.
        let idToToken: String
    }

    let vocabularySize: Int
    let tokenIds: [TokenID]
    let cases: [Case]
    let bosTokenId: Int?
    let eosTokenId: Int?
    let padTokenId: Int?
}

private let fixtureNames = [
    "gpt2", "roberta", "llama3", "qwen2", "llama2", "mistral", "metaspace-split", "metaspace-never", "split-behaviors",
    "wordlevel", "wordlevel-bert", "wordpiece-bert", "wordpiece-cased", "unigram-nmt-nfkc", "unigram-byte-fallback",
    "unigram-ctc", "unicode-scripts", "normalizers-byte-level", "bpe-continuing-prefix", "bpe-end-of-word-suffix",
    "byte-level-no-regex", "split-oniguruma", "metaspace-first-normalized",
]

private func fixtureDirectory(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tokenizers").appendingPathComponent(name)
}

private func reference(_ name: String) throws -> TokenizerReference {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(
        TokenizerReference.self, from: Data(contentsOf: fixtureDirectory(name).appendingPathComponent("cases.json")))
}

/// Exact comparison: Swift's `==` on strings treats canonically equivalent spellings as equal.
private func scalars(_ text: String) -> [Unicode.Scalar] {
    Array(text.unicodeScalars)
}

private extension String {
    init(scalars: some Sequence<Unicode.Scalar>) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self.init(view)
    }
}

/// `text` shortened, with control and non-ASCII scalars escaped, for test labels.
private func visible(_ text: String) -> String {
    text.unicodeScalars.prefix(60).map { $0.isASCII && $0.value >= 32 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }
        .joined()
}

@Suite struct TokenizerTests {
    @Test(arguments: fixtureNames)
    func idsMatchTheTokenizersLibrary(name: String) throws {
        let tokenizer = try loadTokenizer(from: fixtureDirectory(name))
        for reference in try reference(name).cases {
            let label = Comment(rawValue: "\(name): \(visible(reference.text))")
            #expect(try tokenizer.encode(reference.text, addSpecialTokens: true) == reference.ids, label)
            #expect(
                try tokenizer.encode(reference.text, addSpecialTokens: false) == reference.idsWithoutSpecialTokens,
                label)
        }
    }

    @Test(arguments: fixtureNames)
    func decodingMatchesTheTokenizersLibrary(name: String) throws {
        let tokenizer = try loadTokenizer(from: fixtureDirectory(name))
        for reference in try reference(name).cases {
            let label = Comment(rawValue: "\(name): \(visible(reference.text))")
            #expect(scalars(tokenizer.decode(reference.ids, skipSpecialTokens: false)) == scalars(reference.decoded), label)
            #expect(
                scalars(tokenizer.decode(reference.ids, skipSpecialTokens: true))
                    == scalars(reference.decodedSkippingSpecialTokens), label)
            let oneByOne = reference.ids.prefix(reference.decodedOneByOne.count).map {
                scalars(tokenizer.decode([$0], skipSpecialTokens: false))
            }
            #expect(oneByOne == reference.decodedOneByOne.map(scalars), label)
            let windows = reference.decodedWindowsOfThree.indices.map {
                scalars(tokenizer.decode(Array(reference.ids[$0..<($0 + 3)]), skipSpecialTokens: false))
            }
            #expect(windows == reference.decodedWindowsOfThree.map(scalars), label)
        }
    }

    @Test(arguments: fixtureNames)
    func vocabularyMatchesTheTokenizersLibrary(name: String) throws {
        let tokenizer = try loadTokenizer(from: fixtureDirectory(name))
        let reference = try reference(name)
        #expect(tokenizer.vocabularySize == reference.vocabularySize)
        for entry in reference.tokenIds {
            #expect(tokenizer.tokenToID(entry.token) == entry.id, "\(name): \(visible(entry.token))")
            #expect(tokenizer.idToToken(entry.id).map(scalars) == scalars(entry.idToToken), "\(name): \(entry.id)")
        }
        #expect(tokenizer.tokenToID("no such token in any vocabulary") == nil)
        #expect(tokenizer.idToToken(-1) == nil)
        #expect(tokenizer.idToToken(reference.vocabularySize + 1000) == nil)
    }

    /// Byte-level BPE without a normalizer loses nothing; with NFC (Qwen2) it keeps NFC text intact.
    @Test(arguments: ["gpt2", "llama3", "qwen2"])
    func byteLevelTokenizersRoundTrip(name: String) throws {
        let tokenizer = try loadTokenizer(from: fixtureDirectory(name))
        var texts = try reference(name).cases.map(\.text)
        var generator = SeededGenerator(seed: 42)
        let alphabet = Array("aZ 9\t\n\r'.,!é中😀\u{301}\u{200D}\u{0}ß€".unicodeScalars)
        for _ in 0..<200 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<24, using: &generator) {
                text.append(alphabet.randomElement(using: &generator)!)
            }
            texts.append(String(text))
        }
        let normalizedTexts = texts.filter { scalars($0.precomposedStringWithCanonicalMapping) == scalars($0) }
        #expect(normalizedTexts.count > texts.count / 2)
        for text in name == "qwen2" ? normalizedTexts : texts {
            let ids = try tokenizer.encode(text, addSpecialTokens: false)
            #expect(scalars(tokenizer.decode(ids, skipSpecialTokens: false)) == scalars(text), "\(name): \(visible(text))")
        }
    }

    @Test(arguments: ["gpt2", "roberta", "llama3", "qwen2", "llama2", "mistral"])
    func specialTokensMatchTransformers(name: String) throws {
        let tokenizer = try loadTokenizer(from: fixtureDirectory(name))
        let reference = try reference(name)
        #expect(tokenizer.bosTokenID == reference.bosTokenId)
        #expect(tokenizer.eosTokenID == reference.eosTokenId)
        #expect(tokenizer.padTokenID == reference.padTokenId)
    }

    @Test func specialTokensFallBackToThePostProcessorAndAddedTokens() throws {
        // wordlevel has no tokenizer_config.json: "[CLS] $A [SEP]" template and a [PAD] padding token.
        let wordLevel = try loadTokenizer(from: fixtureDirectory("wordlevel"))
        #expect(wordLevel.bosTokenID != nil && wordLevel.bosTokenID == wordLevel.tokenToID("[CLS]"))
        #expect(wordLevel.eosTokenID != nil && wordLevel.eosTokenID == wordLevel.tokenToID("[SEP]"))
        #expect(wordLevel.padTokenID != nil && wordLevel.padTokenID == wordLevel.tokenToID("[PAD]"))
        // wordlevel-bert's tokenizer_config.json names only the padding token (transformers has no
        // BOS/EOS for it); BOS/EOS fall back to BertProcessing's [CLS] ... [SEP].
        let bert = try loadTokenizer(from: fixtureDirectory("wordlevel-bert"))
        let bertReference = try reference("wordlevel-bert")
        #expect(bertReference.bosTokenId == nil && bertReference.padTokenId != nil)
        #expect(bert.bosTokenID != nil && bert.bosTokenID == bert.tokenToID("[CLS]"))
        #expect(bert.eosTokenID != nil && bert.eosTokenID == bert.tokenToID("[SEP]"))
        #expect(bert.padTokenID == bertReference.padTokenId)
        // metaspace-split appends "</s>" and has "<s>" as a special added token, no padding.
        let metaspace = try loadTokenizer(from: fixtureDirectory("metaspace-split"))
        #expect(metaspace.bosTokenID == 1 && metaspace.tokenToID("<s>") == 1)
        #expect(metaspace.eosTokenID == 2 && metaspace.tokenToID("</s>") == 2)
        #expect(metaspace.padTokenID == nil)
    }
}

/// Normalizer outputs of the tokenizers library over every scalar it changes (tokenizer-normalization.json,
/// made by scripts/make_tokenizer_fixtures.py), read back through a byte-level vocabulary: encoding then
/// decoding returns the normalized text.
@Suite struct NormalizerTests {
    private struct Reference: Decodable {
        struct Case: Decodable {
            let normalizer: [String: JSONValue]
            let input: String
            let output: String
        }

        let vocab: [String: Int]
        let cases: [Case]
    }

    /// Enough of JSON to carry a normalizer's description back into tokenizer.json.
    private enum JSONValue: Decodable {
        case string(String), bool(Bool), null

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        var object: Any {
            switch self {
            case .string(let string): return string
            case .bool(let bool): return bool
            case .null: return NSNull()
            }
        }
    }

    @Test func normalizersMatchTheTokenizersLibrary() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("tokenizer-normalization.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        #expect(reference.cases.count > 100)
        for referenceCase in reference.cases {
            let normalizer = referenceCase.normalizer.mapValues(\.object)
            let tokenizer = try HuggingFaceTokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: [
                "normalizer": normalizer,
                "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false],
                "model": ["type": "BPE", "vocab": reference.vocab, "merges": [String]()],
                "decoder": ["type": "ByteLevel"],
            ]))
            let normalized = tokenizer.decode(try tokenizer.encode(referenceCase.input, addSpecialTokens: false))
            let (got, expected) = (scalars(normalized), scalars(referenceCase.output))
            let difference = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(got.count, expected.count)
            #expect(
                got == expected,
                """
                \(normalizer["type"] ?? ""): first difference at scalar \(difference): \
                got \(visible(String(scalars: got.dropFirst(max(0, difference - 2)).prefix(6)))), \
                expected \(visible(String(scalars: expected.dropFirst(max(0, difference - 2)).prefix(6))))
                """)
        }
    }
}

/// A minimal valid tokenizer.json, with `replacing` substituted into its top-level members.
private func tokenizerJSON(replacing members: [String: Any] = [:]) throws -> Data {
    var json: [String: Any] = [
        "added_tokens": [["id": 3, "content": "<s>", "special": true]],
        "normalizer": NSNull(),
        "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
        "model": ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": ["a b"]],
    ]
    json.merge(members) { _, new in new }
    return try JSONSerialization.data(withJSONObject: json)
}

private func loadingError(_ tokenizerJSON: Data, config: Data? = nil) -> TokenizerError? {
    do {
        _ = try HuggingFaceTokenizer(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: config)
        return nil
    } catch {
        return error as? TokenizerError
    }
}

@Suite struct TokenizerErrorTests {
    @Test func minimalTokenizerLoads() throws {
        let tokenizer = try HuggingFaceTokenizer(tokenizerJSON: tokenizerJSON())
        #expect(try tokenizer.encode("abab<s>ba", addSpecialTokens: true) == [2, 2, 3, 1, 0])
        // Without a decoder, tokens are joined with spaces.
        #expect(tokenizer.decode([2, 3, 1], skipSpecialTokens: true) == "ab b")
        #expect(tokenizer.decode([2, 3, 1], skipSpecialTokens: false) == "ab <s> b")
    }

    @Test func unsupportedComponentsAreNamed() throws {
        let error = loadingError(try tokenizerJSON(replacing: ["pre_tokenizer": ["type": "Foo"]]))
        #expect(error == .unsupportedComponent(file: "tokenizer.json", component: "pre_tokenizer", type: "Foo"))
        #expect(error?.description == "tokenizer.json: pre_tokenizer type 'Foo' is not supported")

        let nested = loadingError(try tokenizerJSON(replacing: [
            "normalizer": ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Unicode17"]]],
        ]))
        #expect(nested == .unsupportedComponent(
            file: "tokenizer.json", component: "normalizer.normalizers[1]", type: "Unicode17"))

        let model = loadingError(try tokenizerJSON(replacing: ["model": ["type": "Bigram", "vocab": []]]))
        #expect(model == .unsupportedComponent(file: "tokenizer.json", component: "model", type: "Bigram"))

        let decoder = loadingError(try tokenizerJSON(replacing: ["decoder": ["type": "Telegraph"]]))
        #expect(decoder == .unsupportedComponent(file: "tokenizer.json", component: "decoder", type: "Telegraph"))

        let processor = loadingError(try tokenizerJSON(replacing: [
            "post_processor": ["type": "Sequence", "processors": [["type": "Bar"]]],
        ]))
        #expect(processor == .unsupportedComponent(
            file: "tokenizer.json", component: "post_processor.processors[0]", type: "Bar"))
    }

    @Test func malformedJSONNamesTheFile() throws {
        guard case .malformedJSON(let file, _) = loadingError(Data(#"{"model": {"type": "BPE""#.utf8)) else {
            Issue.record("expected malformedJSON")
            return
        }
        #expect(file == "tokenizer.json")

        guard case .malformedJSON(let configFile, _) = loadingError(try tokenizerJSON(), config: Data("{,}".utf8))
        else {
            Issue.record("expected malformedJSON")
            return
        }
        #expect(configFile == "tokenizer_config.json")
    }

    @Test func invalidFieldsAreNamed() throws {
        let missingVocab = loadingError(try tokenizerJSON(replacing: ["model": ["type": "BPE", "merges": []]]))
        #expect(missingVocab == .invalidField(file: "tokenizer.json", field: "model.vocab", expected: "present"))
        #expect(missingVocab?.description == "tokenizer.json: field 'model.vocab' must be present")

        let badMerge = loadingError(try tokenizerJSON(replacing: [
            "model": ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": ["a b", 7]],
        ]))
        #expect(badMerge == .invalidField(file: "tokenizer.json", field: "model.merges[1]", expected: "an array"))

        let badID = loadingError(try tokenizerJSON(replacing: ["model": ["type": "BPE", "vocab": ["a": "zero"], "merges": []]]))
        #expect(badID == .invalidField(file: "tokenizer.json", field: "model.vocab.a", expected: "a token id (an integer from 0 to 2147483647)"))

        let badFlag = loadingError(try tokenizerJSON(replacing: [
            "added_tokens": [["id": 3, "content": "<s>", "special": "yes"]],
        ]))
        #expect(badFlag == .invalidField(file: "tokenizer.json", field: "added_tokens[0].special", expected: "true or false"))

        let badBehavior = loadingError(try tokenizerJSON(replacing: [
            "pre_tokenizer": ["type": "Split", "pattern": ["String": " "], "behavior": "Sideways"],
        ]))
        guard case .invalidField(_, let field, _) = badBehavior else {
            Issue.record("expected invalidField")
            return
        }
        #expect(field == "pre_tokenizer.behavior")

        let badRegex = loadingError(try tokenizerJSON(replacing: [
            "pre_tokenizer": ["type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated"],
        ]))
        guard case .invalidField(_, let regexField, _) = badRegex else {
            Issue.record("expected invalidField")
            return
        }
        #expect(regexField == "pre_tokenizer.pattern.Regex")

        let badConfig = loadingError(try tokenizerJSON(), config: Data(#"{"bos_token": 5}"#.utf8))
        #expect(badConfig == .invalidField(
            file: "tokenizer_config.json", field: "bos_token", expected: #"a token string or an object with "content""#))
    }

    @Test func mergesOutsideTheVocabularyAreReported() throws {
        let error = loadingError(try tokenizerJSON(replacing: [
            "model": ["type": "BPE", "vocab": ["a": 0, "b": 1], "merges": ["a b"]],
        ]))
        #expect(error == .inconsistentVocabulary(
            file: "tokenizer.json", reason: "model.merges[0] uses 'ab', which is not in model.vocab"))
    }

    @Test func wordsWithoutAnUnknownTokenThrowWhenEncoded() throws {
        let tokenizer = try HuggingFaceTokenizer(tokenizerJSON: tokenizerJSON(replacing: [
            "pre_tokenizer": ["type": "WhitespaceSplit"],
            "model": ["type": "WordLevel", "vocab": ["known": 0], "unk_token": "<unk>"],
        ]))
        #expect(try tokenizer.encode("known known", addSpecialTokens: false) == [0, 0])
        #expect(throws: TokenizerError.unknownTokenMissing(token: "unknown")) {
            try tokenizer.encode("known unknown", addSpecialTokens: false)
        }
    }

    /// Every component type the tokenizers library (0.23) reads from tokenizer.json loads.
    @Test func everyComponentTypeOfTheTokenizersLibraryLoads() throws {
        let normalizers: [[String: Any]] = [
            ["type": "BertNormalizer"], ["type": "Strip"], ["type": "StripAccents"], ["type": "NFC"], ["type": "NFD"],
            ["type": "NFKC"], ["type": "NFKD"], ["type": "Lowercase"], ["type": "Nmt"], ["type": "ByteLevel"],
            ["type": "Precompiled", "precompiled_charsmap": ""], ["type": "Prepend", "prepend": "x"],
            ["type": "Replace", "pattern": ["String": "a"], "content": "b"],
        ]
        let preTokenizers: [[String: Any]] = [
            ["type": "BertPreTokenizer"], ["type": "ByteLevel"], ["type": "CharDelimiterSplit", "delimiter": "x"],
            ["type": "Metaspace", "replacement": "▁"], ["type": "Whitespace"], ["type": "WhitespaceSplit"],
            ["type": "Split", "pattern": ["Regex": "a"], "behavior": "Removed"], ["type": "Punctuation"],
            ["type": "Digits"], ["type": "UnicodeScripts"], ["type": "FixedLength"],
        ]
        let decoders: [[String: Any]] = [
            ["type": "BPEDecoder"], ["type": "ByteLevel"], ["type": "WordPiece"], ["type": "Metaspace", "replacement": "▁"],
            ["type": "CTC"], ["type": "Replace", "pattern": ["String": "a"], "content": "b"], ["type": "Fuse"],
            ["type": "Strip", "content": " ", "start": 1, "stop": 0], ["type": "ByteFallback"],
        ]
        let models: [[String: Any]] = [
            ["type": "WordPiece", "vocab": ["[UNK]": 0, "a": 1, "##b": 2]],
            ["type": "Unigram", "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -2.5]], "unk_id": 0],
            ["type": "WordLevel", "vocab": ["<unk>": 0, "a": 1]],
        ]
        let processors: [[String: Any]] = [
            ["type": "ByteLevel"], ["type": "BertProcessing", "sep": ["a", 1], "cls": ["a", 1]],
            ["type": "RobertaProcessing", "sep": ["a", 1], "cls": ["a", 1]],
        ]
        // An empty charsmap is refused: the tokenizers library needs at least its trie size.
        #expect(loadingError(try tokenizerJSON(replacing: ["normalizer": normalizers[10]])) != nil)
        for normalizer in normalizers where normalizer["precompiled_charsmap"] == nil {
            #expect(loadingError(try tokenizerJSON(replacing: ["normalizer": normalizer])) == nil, "\(normalizer)")
        }
        for preTokenizer in preTokenizers {
            #expect(loadingError(try tokenizerJSON(replacing: ["pre_tokenizer": preTokenizer])) == nil, "\(preTokenizer)")
        }
        for decoder in decoders {
            #expect(loadingError(try tokenizerJSON(replacing: ["decoder": decoder])) == nil, "\(decoder)")
        }
        for model in models {
            #expect(loadingError(try tokenizerJSON(replacing: ["model": model])) == nil, "\(model)")
        }
        for processor in processors {
            #expect(loadingError(try tokenizerJSON(replacing: ["post_processor": processor])) == nil, "\(processor)")
        }
    }

    /// Values from the tokenizers library 0.23: `Tokenizer.from_str` of the same JSON, then `encode`.
    @Test func unigramWithoutAnUnknownIDThrowsOnUncoveredText() throws {
        let tokenizer = try HuggingFaceTokenizer(tokenizerJSON: tokenizerJSON(replacing: [
            "pre_tokenizer": ["type": "WhitespaceSplit"],
            "model": ["type": "Unigram", "vocab": [["a", -1.0], ["b", -2.0], ["ab", -2.5], ["abc", -9.0]]],
        ]))
        // "ab" (-2.5) beats "a" + "b" (-3.0); "abc" is one piece; "aab" is "a" + "ab".
        #expect(try tokenizer.encode("ab abc aab", addSpecialTokens: false) == [2, 3, 0, 2])
        #expect(throws: TokenizerError.unknownTokenMissing(token: "z")) {
            try tokenizer.encode("az", addSpecialTokens: false)
        }
    }

    @Test func invalidNewComponentFieldsAreNamed() throws {
        let unknownID = loadingError(try tokenizerJSON(replacing: [
            "model": ["type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 1],
        ]))
        #expect(unknownID == .invalidField(
            file: "tokenizer.json", field: "model.unk_id", expected: "the index of an entry of model.vocab (it has 1)"))
        let score = loadingError(try tokenizerJSON(replacing: ["model": ["type": "Unigram", "vocab": [["a", "high"]]]]))
        #expect(score == .invalidField(file: "tokenizer.json", field: "model.vocab[0][1]", expected: "a number"))
        let charsmap = loadingError(try tokenizerJSON(replacing: [
            "normalizer": ["type": "Precompiled", "precompiled_charsmap": "not base64!"],
        ]))
        #expect(charsmap == .invalidField(
            file: "tokenizer.json", field: "normalizer.precompiled_charsmap", expected: "base64 data"))
        let length = loadingError(try tokenizerJSON(replacing: ["pre_tokenizer": ["type": "FixedLength", "length": 0]]))
        #expect(length == .invalidField(file: "tokenizer.json", field: "pre_tokenizer.length", expected: "a positive integer"))
        let dropout = loadingError(try tokenizerJSON(replacing: [
            "model": ["type": "BPE", "vocab": ["a": 0], "merges": [], "dropout": 0.1],
        ]))
        #expect(dropout == .invalidField(
            file: "tokenizer.json", field: "model.dropout",
            expected: "null or 0 (with BPE dropout the tokenizers library encodes at random)"))
        #expect(loadingError(try tokenizerJSON(replacing: [
            "model": ["type": "BPE", "vocab": ["a": 0], "merges": [], "dropout": 0],
        ])) == nil)
    }

    @Test func missingFilesAreReported() throws {
        try withTemporaryDirectory { directory in
            let expectedPath = directory.appendingPathComponent("tokenizer.json").path
            #expect(throws: TokenizerError.missingFile(path: expectedPath)) {
                try loadTokenizer(from: directory)
            }
            // tokenizer_config.json is optional.
            try tokenizerJSON().write(to: directory.appendingPathComponent("tokenizer.json"))
            let tokenizer = try loadTokenizer(from: directory)
            #expect(tokenizer.bosTokenID == 3)
        }
    }
}
