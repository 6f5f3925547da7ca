import Foundation
import Testing
import Interp

/// Gemma Scope SAEs (`params.npz` as published) against Gemma Scope's own JumpReLU definition computed by numpy
/// (scripts/make_gemma_scope_fixture.py): the arrays read from NumPy's zip, the features and reconstruction of random
/// activations, splicing at the hook the caller names, and the errors for a compressed archive and a wrong width.
@Suite struct GemmaScopeSAETests {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("saes/gemma_scope")
    static let reference = try! JSONSerialization.jsonObject(
        with: Data(contentsOf: directory.appendingPathComponent("reference.json"))) as! [String: Any]

    static func tensor(_ key: String) -> Tensor {
        let rows = reference[key] as! [[[Double]]]
        return Tensor(shape: [rows.count, rows[0].count, rows[0][0].count], scalars: rows.flatMap { $0.flatMap { $0.map(Float.init) } })
    }

    static func expectRefusal(containing fragments: [String], _ body: () throws -> Void) throws {
        let error = try #require(throws: LoadingError.self) { try body() }
        for fragment in fragments { #expect("\(error)".contains(fragment), "\(error) should contain \(fragment)") }
    }

    @Test func featuresAndReconstructionFollowGemmaScopesDefinition() throws {
        let sae = try SparseAutoencoder(gemmaScope: Self.directory.appendingPathComponent("params.npz"), hook: "blocks.0.hook_resid_post")
        #expect(sae.configuration.architecture == .jumpReLU && !sae.configuration.appliesDecoderBiasToInput)
        #expect(sae.configuration.dIn == 32 && sae.configuration.dSAE == 24)
        let x = Self.tensor("x"), features = sae.encode(x)
        #expect(features.maxAbsDifference(Self.tensor("features")) < 1e-5)
        #expect(sae.decode(features).maxAbsDifference(Self.tensor("reconstruction")) < 1e-5)
    }

    @Test func splicedWithItsErrorTermTheModelIsUnchanged() throws {
        let fixture = try ReferenceFixture("gpt2")
        var sae = try SparseAutoencoder(gemmaScope: Self.directory.appendingPathComponent("params.npz"), hook: "blocks.0.hook_resid_post",
                                        model: fixture.model)
        let plain = fixture.model.forward(fixture.clean)
        sae.usesErrorTerm = true
        let kept = try fixture.model.trace(fixture.clean, saes: [sae], cache: nil).logits
        sae.usesErrorTerm = false
        let replaced = try fixture.model.trace(fixture.clean, saes: [sae], cache: nil).logits
        #expect(kept.maxAbsDifference(plain) < 1e-4)
        #expect(replaced.maxAbsDifference(plain) > 1e-2, "the reconstruction alone must change the logits")
    }

    @Test func compressedArchivesAndWrongWidthsAreRefusedByName() throws {
        let fixture = try ReferenceFixture("gpt2")
        let compressed = Self.directory.appendingPathComponent("compressed.npz")
        try Self.expectRefusal(containing: [compressed.path, "member 'W_enc.npy' is compressed"]) {
            _ = try SparseAutoencoder(gemmaScope: compressed, hook: "blocks.0.hook_resid_post")
        }
        let params = Self.directory.appendingPathComponent("params.npz")
        try Self.expectRefusal(containing: [params.path, "hook 'blocks.0.mlp.hook_post'", "d_in 32 does not match the activation's width 128"]) {
            _ = try SparseAutoencoder(gemmaScope: params, hook: "blocks.0.mlp.hook_post", model: fixture.model)
        }
        let notZip = Self.directory.appendingPathComponent("reference.json")
        try Self.expectRefusal(containing: [notZip.path, "not a zip archive"]) {
            _ = try SparseAutoencoder(gemmaScope: notZip, hook: "blocks.0.hook_resid_post")
        }
    }
}
