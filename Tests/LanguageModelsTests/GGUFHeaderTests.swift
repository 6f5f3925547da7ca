import Foundation
import Testing
import TestScratch
import LanguageModels

/// The bytes of a GGUF file, written field by field (little-endian), for headers that lie or stop short.
struct GGUFBytes {
    var data = Data()

    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); data.append(contentsOf: Array(s.utf8)) }
    /// The magic, a version and the two counts.
    mutating func header(version: UInt32 = 3, tensors: UInt64, metadata: UInt64) {
        data.append(contentsOf: Array("GGUF".utf8)); u32(version); u64(tensors); u64(metadata)
    }
    mutating func keyString(_ key: String, _ value: String) { string(key); u32(8); string(value) }
    mutating func keyUInt32(_ key: String, _ value: UInt32) { string(key); u32(4); u32(value) }
    mutating func keyFloat32(_ key: String, _ value: Float) { string(key); u32(6); u32(value.bitPattern) }
    mutating func keyBool(_ key: String, _ value: Bool) { string(key); u32(7); u8(value ? 1 : 0) }
    mutating func keyStrings(_ key: String, _ values: [String]) { string(key); u32(9); u32(8); u64(UInt64(values.count)); values.forEach { string($0) } }
    mutating func keyFloats(_ key: String, _ values: [Float]) { string(key); u32(9); u32(6); u64(UInt64(values.count)); values.forEach { u32($0.bitPattern) } }
    mutating func keyInt32s(_ key: String, _ values: [Int32]) { string(key); u32(9); u32(5); u64(UInt64(values.count)); values.forEach { u32(UInt32(bitPattern: $0)) } }
    /// A tensor record: name, dimensions (ggml order), type id, offset.
    mutating func tensor(_ name: String, _ dimensions: [UInt64], type: UInt32, offset: UInt64) {
        string(name); u32(UInt32(dimensions.count)); dimensions.forEach { u64($0) }; u32(type); u64(offset)
    }
    /// Zero bytes up to the next multiple of `alignment`.
    mutating func pad(to alignment: Int) { while data.count % alignment != 0 { data.append(0) } }
}

/// Truncated and lying GGUF headers are refused with errors naming the file and the field.
@Suite struct GGUFHeaderTests {
    /// A valid file: two metadata values and one F32 [2, 3] tensor.
    static func validFile() -> Data {
        var bytes = GGUFBytes()
        bytes.header(tensors: 1, metadata: 2)
        bytes.keyString("general.architecture", "llama")
        bytes.string("general.tags"); bytes.u32(9); bytes.u32(8); bytes.u64(2); bytes.string("a"); bytes.string("é")
        bytes.tensor("x", [3, 2], type: 0, offset: 0)
        bytes.pad(to: 32)
        for value in [1, 2, 3, 4, 5, 6] as [Float] { bytes.u32(value.bitPattern) }
        return bytes.data
    }

    private func open(_ data: Data) throws -> GGUFFile {
        try withTemporaryDirectory { try GGUFFile(contentsOf: file(data, in: $0)) }
    }

    /// `data` written to a new file in `directory`.
    private func file(_ data: Data, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("model-\(UUID().uuidString).gguf")
        try data.write(to: url)
        return url
    }

    private func expectError(_ data: Data, containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        try withTemporaryDirectory { directory in
            let url = try file(data, in: directory)
            expectLoadingError(containing: [url.path] + fragments, sourceLocation: sourceLocation) { _ = try GGUFFile(contentsOf: url) }
        }
    }

    @Test func readsAValidFile() throws {
        let file = try open(Self.validFile())
        #expect(file.version == 3 && file.alignment == 32)
        #expect(file.metadata["general.tags"] == .array([.string("a"), .string("é")]))
        #expect(try file.info(named: "x").shape == [2, 3])
        #expect(try file.tensor(named: "x").scalars == [1, 2, 3, 4, 5, 6])
    }

    @Test func everyTruncationIsRefused() throws {
        let valid = Self.validFile()
        try withTemporaryDirectory { directory in
            for length in 0..<valid.count {
                let url = try file(valid.prefix(length), in: directory)
                do {
                    _ = try GGUFFile(contentsOf: url)
                    Issue.record("a file cut to \(length) of \(valid.count) bytes was read")
                } catch let error as LoadingError {
                    #expect(error.description.hasPrefix(url.path + ": "), "\(error)")
                }
            }
        }
    }

    @Test func lyingCountsAreRefusedBeforeAllocating() throws {
        var tensors = GGUFBytes()
        tensors.header(tensors: 1 << 60, metadata: 0)
        try expectError(tensors.data, containing: ["tensor_count 1152921504606846976 exceeds"])
        var metadata = GGUFBytes()
        metadata.header(tensors: 0, metadata: UInt64.max)
        try expectError(metadata.data, containing: ["metadata_kv_count 18446744073709551615 exceeds"])
        var array = GGUFBytes()
        array.header(tensors: 0, metadata: 1)
        array.string("tokenizer.ggml.tokens"); array.u32(9); array.u32(8); array.u64(1 << 40)
        try expectError(array.data, containing: ["metadata 'tokenizer.ggml.tokens': array length 1099511627776 exceeds"])
        var string = GGUFBytes()
        string.header(tensors: 0, metadata: 1)
        string.string("general.name"); string.u32(8); string.u64(1 << 50)
        try expectError(string.data, containing: ["metadata 'general.name': string length"])
        var dimensions = GGUFBytes()
        dimensions.header(tensors: 1, metadata: 0)
        dimensions.tensor("big", [1 << 31, 1 << 31], type: 0, offset: 0)
        try expectError(dimensions.data, containing: ["tensor 'big': ne[0] 2147483648 is too large"])
        var large = GGUFBytes()
        large.header(tensors: 1, metadata: 0)
        large.tensor("big", [1 << 30, 1 << 30, 1 << 30, 1 << 30], type: 0, offset: 0)
        try expectError(large.data, containing: ["tensor 'big'", "too large"])
    }

    @Test func malformedFieldsAreNamed() throws {
        var magic = GGUFBytes()
        magic.data.append(contentsOf: Array("GGML".utf8)); magic.u32(3)
        try expectError(magic.data, containing: ["not a GGUF file"])
        var version = GGUFBytes()
        version.header(version: 1, tensors: 0, metadata: 0)
        try expectError(version.data, containing: ["GGUF version 1 is not supported"])
        var bigEndian = GGUFBytes()
        bigEndian.header(version: UInt32(3).byteSwapped, tensors: 0, metadata: 0)
        try expectError(bigEndian.data, containing: ["big-endian"])
        var valueType = GGUFBytes()
        valueType.header(tensors: 0, metadata: 1)
        valueType.string("general.x"); valueType.u32(13)
        try expectError(valueType.data, containing: ["metadata 'general.x': unknown value type 13"])
        var duplicate = GGUFBytes()
        duplicate.header(tensors: 0, metadata: 2)
        duplicate.keyString("general.name", "a"); duplicate.keyString("general.name", "b")
        try expectError(duplicate.data, containing: ["metadata key 'general.name' appears twice"])
        var utf8 = GGUFBytes()
        utf8.header(tensors: 0, metadata: 1)
        utf8.string("general.name"); utf8.u32(8); utf8.u64(2); utf8.u8(0xC3); utf8.u8(0x28)
        try expectError(utf8.data, containing: ["metadata 'general.name'", "not valid UTF-8"])
        var alignment = GGUFBytes()
        alignment.header(tensors: 0, metadata: 1)
        alignment.keyUInt32("general.alignment", 24)
        try expectError(alignment.data, containing: ["'general.alignment' 24 is not a power of two"])
        var nesting = GGUFBytes()
        nesting.header(tensors: 0, metadata: 1)
        nesting.string("general.deep"); nesting.u32(9)
        for _ in 0..<6 { nesting.u32(9); nesting.u64(1) }
        try expectError(nesting.data, containing: ["arrays nested more than 4 deep"])
    }

    @Test func malformedTensorRecordsAreNamed() throws {
        func file(_ record: (inout GGUFBytes) -> Void, data: Int = 64) -> Data {
            var bytes = GGUFBytes()
            bytes.header(tensors: 1, metadata: 0)
            record(&bytes)
            bytes.pad(to: 32)
            bytes.data.append(Data(count: data))
            return bytes.data
        }
        try expectError(file { $0.tensor("q", [256], type: 39, offset: 0) },
                        containing: ["tensor 'q': tensor type 39 (MXFP4) is not supported", "IQ4_XS", "IQ1_M"])
        try expectError(file { $0.tensor("q", [32], type: 23, offset: 0) },
                        containing: ["tensor 'q': ne[0] 32 is not a multiple of the IQ4_XS block size 256"])
        try expectError(file { $0.tensor("q", [256], type: 16, offset: 0) },
                        containing: ["tensor 'q': IQ2_XXS [256] needs 66 bytes at offset 0, past the end of the 64-byte data section"])
        try expectError(file { $0.tensor("q", [16], type: 2, offset: 0) },
                        containing: ["tensor 'q': ne[0] 16 is not a multiple of the Q4_0 block size 32"])
        try expectError(file { $0.tensor("q", [4], type: 0, offset: 8) },
                        containing: ["tensor 'q': offset 8 is not a multiple of the alignment 32"])
        try expectError(file { $0.tensor("q", [32], type: 0, offset: 0) },
                        containing: ["tensor 'q': F32 [32] needs 128 bytes at offset 0, past the end of the 64-byte data section"])
        try expectError(file { $0.tensor("q", [1, 1, 1, 1, 1], type: 0, offset: 0) },
                        containing: ["tensor 'q': n_dims 5 is not between 1 and 4"])
        var overlap = GGUFBytes()
        overlap.header(tensors: 2, metadata: 0)
        overlap.tensor("a", [16], type: 0, offset: 0)
        overlap.tensor("b", [16], type: 0, offset: 32)
        overlap.pad(to: 32)
        overlap.data.append(Data(count: 128))
        try expectError(overlap.data, containing: ["tensors 'a'", "and 'b'", "overlap"])
    }

    @Test func configurationErrorsNameTheKey() throws {
        try withTemporaryDirectory { directory in
            func model(_ metadata: [(String, UInt32)], architecture: String = "llama") throws -> URL {
                var bytes = GGUFBytes()
                bytes.header(tensors: 0, metadata: UInt64(metadata.count + 1))
                bytes.keyString("general.architecture", architecture)
                for (key, value) in metadata { bytes.keyUInt32(key, value) }
                return try file(bytes.data, in: directory)
            }
            let falcon = try model([], architecture: "falcon")
            expectLoadingError(containing: [falcon.path, "metadata 'general.architecture' 'falcon' is not supported yet"]) {
                _ = try ModelConfiguration(gguf: GGUFFile(contentsOf: falcon))
            }
            let gemma = try model([("gemma2.block_count", 2), ("gemma2.embedding_length", 32), ("gemma2.attention.head_count", 2),
                                   ("gemma2.feed_forward_length", 64), ("gemma2.attention.key_length", 16),
                                   ("gemma2.vocab_size", 8)], architecture: "gemma2")
            expectLoadingError(containing: [gemma.path, "metadata 'gemma2.attention.layer_norm_rms_epsilon' must be present"]) {
                _ = try ModelConfiguration(gguf: GGUFFile(contentsOf: gemma))
            }
            let olmo3 = try model([("olmo2.attention.sliding_window", 0)], architecture: "olmo2")
            expectLoadingError(containing: [olmo3.path, "metadata 'olmo2.attention.sliding_window' must be positive, found 0"]) {
                _ = try ModelConfiguration(gguf: GGUFFile(contentsOf: olmo3))
            }
            let noLayers = try model([("llama.embedding_length", 64)])
            expectLoadingError(containing: [noLayers.path, "metadata 'llama.block_count' is missing"]) {
                _ = try ModelConfiguration(gguf: GGUFFile(contentsOf: noLayers))
            }
            let badHeads = try model([("llama.block_count", 2), ("llama.embedding_length", 64), ("llama.attention.head_count", 4),
                                      ("llama.attention.head_count_kv", 3)])
            expectLoadingError(containing: [badHeads.path, "metadata 'llama.attention.head_count_kv' 3 must be positive and divide the head count 4"]) {
                _ = try ModelConfiguration(gguf: GGUFFile(contentsOf: badHeads))
            }
            let noTokenizer = try model([])
            expectLoadingError(containing: [noTokenizer.path, "metadata 'tokenizer.ggml.model' is missing"]) {
                _ = try GGUFTokenizer.tokenizer(from: GGUFFile(contentsOf: noTokenizer))
            }
        }
    }

    /// Llama 3 rope scaling is stored as per-frequency factors (`rope_freqs.weight`); the factors below follow
    /// convert_hf_to_gguf.py's formula for factor 8, low 1, high 4 and an original context of 8192.
    @Test func llama3RopeScalingIsRecoveredFromItsFactors() throws {
        let (base, width) = (500_000.0, 32)
        let factors = stride(from: 0, to: width, by: 2).map { i -> Float in
            let wavelength = 2 * Double.pi * Foundation.pow(base, Double(i) / Double(width))
            if wavelength < 8192 / 4 { return 1 }
            if wavelength > 8192 / 1 { return 8 }
            let smooth = (8192 / wavelength - 1) / (4 - 1)
            return Float(1 / ((1 - smooth) / 8 + smooth))
        }
        #expect(factors.contains(1) && factors.contains(8) && factors.contains { $0 > 1 && $0 < 8 })
        func file(_ factors: [Float]) throws -> GGUFFile {
            var bytes = GGUFBytes()
            bytes.header(tensors: 1, metadata: 8)
            bytes.keyString("general.architecture", "llama")
            bytes.keyUInt32("llama.vocab_size", 10)
            bytes.keyUInt32("llama.block_count", 1)
            bytes.keyUInt32("llama.embedding_length", 64)
            bytes.keyUInt32("llama.attention.head_count", 2)
            bytes.keyUInt32("llama.feed_forward_length", 128)
            bytes.keyFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5)
            bytes.keyFloat32("llama.rope.freq_base", Float(base))
            bytes.tensor("rope_freqs.weight", [UInt64(factors.count)], type: 0, offset: 0)
            bytes.pad(to: 32)
            factors.forEach { bytes.u32($0.bitPattern) }
            return try open(bytes.data)
        }
        let configuration = try ModelConfiguration(gguf: file(factors))
        guard case .rotary(let rotary) = configuration.positionEncoding else { Issue.record("expected rotary positions"); return }
        #expect(rotary.scaling == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: 8192))
        var other = factors
        other[8] *= 1.5
        let odd = try file(other)
        expectLoadingError(containing: [odd.url.path, "tensor 'rope_freqs.weight' factor 8"]) { _ = try ModelConfiguration(gguf: odd) }
    }

    /// `add_bos_token` / `add_eos_token` decide the special tokens around the text; merges come from the scores.
    @Test func specialTokenFlagsAndScoreMerges() throws {
        var bytes = GGUFBytes()
        bytes.header(tensors: 0, metadata: 9)
        bytes.keyString("general.architecture", "llama")
        bytes.keyString("tokenizer.ggml.model", "llama")
        bytes.keyStrings("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "\u{2581}", "a", "\u{2581}a"])
        bytes.keyFloats("tokenizer.ggml.scores", [0, 0, 0, -1, -2, -3])
        bytes.keyInt32s("tokenizer.ggml.token_type", [2, 3, 3, 1, 1, 1])
        bytes.keyUInt32("tokenizer.ggml.bos_token_id", 1)
        bytes.keyUInt32("tokenizer.ggml.eos_token_id", 2)
        bytes.keyBool("tokenizer.ggml.add_bos_token", false)
        bytes.keyBool("tokenizer.ggml.add_eos_token", true)
        let tokenizer = try GGUFTokenizer.tokenizer(from: open(bytes.data))
        #expect(try tokenizer.encode("a a", addSpecialTokens: true) == [5, 5, 2])
        #expect(try tokenizer.encode("</s>a", addSpecialTokens: false) == [2, 4])   // "▁" only before the first piece
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
    }
}
