import Foundation

/// The training state saved next to the model: `trainer_state.json`.
struct TrainerState: Codable {
    static let fileName = "trainer_state.json"
    static let optimizerFileName = "optimizer.safetensors"

    var completedSteps: Int
    var options: TrainingOptions
    /// The names of the model's parameters, in optimizer order.
    var parameterNames: [String]
}

extension Trainer {
    /// Saves a resumable checkpoint: a Hugging Face model directory (`config.json`, `model.safetensors`, the
    /// tokenizer files) plus `optimizer.safetensors` (AdamW's `exp_avg.<parameter>` and `exp_avg_sq.<parameter>`)
    /// and `trainer_state.json` (steps done, options, parameter names).
    ///
    /// The directory is filled under a temporary name and then swapped in, so `directory` always holds one
    /// complete checkpoint.
    public func saveCheckpoint(to directory: URL) throws {
        let names = model.parameters.map(\.name)
        try AtomicFile.replaceDirectory(at: directory) { staging in
            try model.save(to: staging, configuration: configuration, tokenizer: tokenizer)
            var moments = SafetensorsWriter(metadata: ["step": "\(optimizer.step)"])
            for (i, name) in names.enumerated() {
                moments.add(optimizer.firstMoments[i], named: "exp_avg.\(name)")
                moments.add(optimizer.secondMoments[i], named: "exp_avg_sq.\(name)")
            }
            try moments.write(to: staging.appendingPathComponent(TrainerState.optimizerFileName))
            let state = TrainerState(completedSteps: optimizer.step, options: options, parameterNames: names)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(state), to: staging.appendingPathComponent(TrainerState.fileName))
        }
    }

    /// Resumes training from a checkpoint written by ``saveCheckpoint(to:)``: the model, the optimizer moments
    /// and the step count are restored, so the run continues exactly as if uninterrupted.
    ///
    /// - Parameters:
    ///   - examples: the training examples (the same ones, for an exact continuation).
    ///   - options: replaces the saved options (e.g. more `steps`); nil keeps them.
    /// - Throws: ``LoadingError`` or ``TrainingError`` naming the file or parameter at fault.
    public convenience init(resumingFrom directory: URL, examples: [TrainingExample], options: TrainingOptions? = nil) throws {
        let stateURL = directory.appendingPathComponent(TrainerState.fileName)
        let state: TrainerState
        do {
            state = try JSONDecoder().decode(TrainerState.self, from: try Data(contentsOf: stateURL))
        } catch let error as DecodingError {
            throw TrainingError("\(stateURL.path): \(error.fieldDescription)")
        } catch {
            throw TrainingError("\(stateURL.path): cannot read: \(error.localizedDescription)")
        }
        let checkpoint = try Checkpoint(directory: directory)
        let model = try TransformerModel.load(checkpoint)
        let parameters = model.parameters
        guard parameters.map(\.name) == state.parameterNames else {
            throw TrainingError("\(stateURL.path): parameterNames do not match the model in \(directory.path)")
        }
        let momentsFile = try SafetensorsFile(contentsOf: directory.appendingPathComponent(TrainerState.optimizerFileName))
        func moment(_ prefix: String, _ parameter: NamedTensor) throws -> Tensor {
            let name = "\(prefix).\(parameter.name)"
            let tensor = try momentsFile.tensor(named: name)
            guard tensor.shape == parameter.tensor.shape else {
                throw TrainingError("\(momentsFile.url.path): '\(name)' is \(tensor.shape), the parameter is \(parameter.tensor.shape)")
            }
            return tensor
        }
        let resumedOptions = options ?? state.options
        let optimizer = AdamW(step: state.completedSteps, firstMoments: try parameters.map { try moment("exp_avg", $0) },
                              secondMoments: try parameters.map { try moment("exp_avg_sq", $0) },
                              decays: AdamW.decays(for: parameters.map(\.tensor.shape)), options: resumedOptions.optimizer)
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let tokenizerConfigURL = directory.appendingPathComponent("tokenizer_config.json")
        let tokenizer = (try? String(contentsOf: tokenizerURL, encoding: .utf8)).map {
            TokenizerFiles(tokenizerJSON: $0, tokenizerConfigJSON: try? String(contentsOf: tokenizerConfigURL, encoding: .utf8))
        }
        var configuration = checkpoint.configuration
        configuration.dtype = nil
        try self.init(model: model, configuration: configuration, examples: examples, options: resumedOptions,
                      optimizer: optimizer, tokenizer: tokenizer)
    }
}
