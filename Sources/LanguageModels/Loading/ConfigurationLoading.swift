import Foundation

extension ModelConfiguration {
    /// The `config.json` layouts by `model_type`.
    public static let supportedModelTypes = ["gpt2"] + LlamaVariant.allCases.map(\.rawValue) + ["gpt_neox"]
        + GemmaVersion.allCases.map(\.rawValue) + ["gemma3", "mistral3", "phi3", "olmo2", "olmo3", "phi", "olmo", "olmoe"]

    /// Reads `config.json` from a model directory, or from `url` itself when it names a file.
    public init(contentsOf url: URL) throws {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let file = exists && isDirectory.boolValue ? url.appendingPathComponent("config.json") : url
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw LoadingError("\(file.path): cannot read: \(error.localizedDescription)")
        }
        try self.init(json: data, source: file.path)
    }

    /// Decodes a `config.json`'s bytes; `source` names the file in errors.
    ///
    /// Throws for an unsupported `model_type`, a missing or mistyped field, or an option value this library
    /// does not implement, e.g. `config.json: rope_scaling.rope_type 'yarn' is not supported (...)`.
    public init(json data: Data, source: String = "config.json") throws {
        struct ModelType: Decodable {
            var modelType: String?
            enum CodingKeys: String, CodingKey { case modelType = "model_type" }
        }
        let decoder = JSONDecoder()
        do {
            let modelType = try decoder.decode(ModelType.self, from: data).modelType
            switch modelType {
            case "gpt2":
                self = try decoder.decode(GPT2ConfigFile.self, from: data).modelConfiguration(source: source)
            case let name? where LlamaVariant(rawValue: name) != nil:
                self = try LlamaConfigFile(json: data).modelConfiguration(source: source)
            case "gpt_neox":
                self = try decoder.decode(GPTNeoXConfigFile.self, from: data).modelConfiguration(source: source)
            case let name? where GemmaVersion(rawValue: name) != nil:
                self = try decoder.decode(GemmaConfigFile.self, from: data).modelConfiguration(source: source)
            case "gemma3":
                self = try Gemma3MultimodalConfigFile(json: data, source: source).modelConfiguration(source: source)
            case "mistral3":
                self = try Mistral3ConfigFile(json: data, source: source).modelConfiguration(source: source)
            case "phi3":
                self = try decoder.decode(Phi3ConfigFile.self, from: data).modelConfiguration(source: source)
            case "olmo2":
                self = try decoder.decode(OLMo2ConfigFile.self, from: data).modelConfiguration(source: source)
            case "olmo3":
                self = try decoder.decode(OLMo3ConfigFile.self, from: data).modelConfiguration(source: source)
            case "phi":
                self = try decoder.decode(PhiConfigFile.self, from: data).modelConfiguration(source: source)
            case "olmo":
                self = try decoder.decode(OLMoConfigFile.self, from: data).modelConfiguration(source: source)
            case "olmoe":
                self = try decoder.decode(OLMoEConfigFile.self, from: data).modelConfiguration(source: source)
            case let name?:
                throw LoadingError("\(source): model_type '\(name)' is not supported (supported: \(Self.supportedModelTypes.joined(separator: ", ")))")
            case nil:
                throw LoadingError("\(source): field 'model_type' is missing")
            }
        } catch let error as DecodingError {
            throw LoadingError("\(source): \(error.fieldDescription)")
        }
    }
}
