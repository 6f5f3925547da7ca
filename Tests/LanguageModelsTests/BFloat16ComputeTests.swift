import Foundation
import Testing
import Tensors
import LanguageModels

/// A bfloat16 checkpoint loaded with ``ComputePrecision/bfloat16``: its logits against the default `Float` compute
/// and against transformers running the model in bfloat16 (`bf16_compute.json`, written by
/// scripts/make_bf16_compute_references.py). Differences are max |Δ| over the logits / max |logit|.
@Suite struct BFloat16ComputeTests {
    static let fixtures = ["llama_bf16", "phi3_bf16"]

    static func reference(_ name: String) throws -> (ids: [[Int]], logits: [Float]) {
        let data = try Data(contentsOf: Fixtures.directory(name).appendingPathComponent("bf16_compute.json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let logits = (json["logits"] as! [[[Double]]]).flatMap { $0.flatMap { $0.map { Float($0) } } }
        return (json["input_ids"] as! [[Int]], logits)
    }

    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
    }

    @Test(arguments: fixtures)
    func logitsStayNearFloatComputeAndTransformersInBFloat16(name: String) throws {
        let (ids, theirs) = try Self.reference(name)
        let directory = Fixtures.directory(name)
        let bf16 = try TransformerModel.load(Checkpoint(directory: directory, computePrecision: .bfloat16))
        let fp32 = try TransformerModel.load(Checkpoint(directory: directory))
        let ours = bf16.forward(TokenBatch(ids)).scalars
        let exact = fp32.forward(TokenBatch(ids)).scalars
        let fromFloat = Self.relativeDifference(ours, exact)
        let fromTransformers = Self.relativeDifference(ours, theirs)
        let floatFromTransformers = Self.relativeDifference(exact, theirs)
        print("\(name): bf16 compute vs fp32 compute \(fromFloat), vs transformers bf16 \(fromTransformers); fp32 compute vs transformers bf16 \(floatFromTransformers)")
        #expect(fromFloat > 0, "\(name): bfloat16 compute changed nothing")
        #expect(fromFloat < 2e-2, "\(name): bfloat16 compute vs Float compute \(fromFloat)")
        #expect(fromTransformers < 8e-2, "\(name): bfloat16 compute vs transformers in bfloat16 \(fromTransformers)")
    }

    /// Loading with bfloat16 compute keeps the weights where they are (16-bit, read in place).
    @Test func weightsStayInPlace() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("llama_bf16"), computePrecision: .bfloat16)
        let model = try TransformerModel.load(checkpoint)
        guard case .halfPrecision(let up) = model.blocks[0].mlp!.input.matrix else {
            Issue.record("the up projection was converted")
            return
        }
        #expect(up.computePrecision == .bfloat16)
        let name = "model.layers.0.mlp.up_proj.weight"
        let fileAddress = try checkpoint.weights.file(holding: name).withUnsafeBytes(ofTensor: name) { $0.baseAddress }
        #expect(up.withUnsafeBits { UnsafeRawPointer($0.baseAddress) } == fileAddress)
    }
}
