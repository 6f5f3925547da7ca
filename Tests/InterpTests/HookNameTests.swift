import TestModels
import Testing
import Interp

@Suite struct HookNameTests {
    let resolver = TestModels.make(llama: true, layers: 3).hookNameResolver

    @Test func aliasesAndNegativeLayersResolve() throws {
        #expect(try resolver.resolve("blocks.1.attn.hook_z") == "blocks.1.attn.hook_z")
        #expect(try resolver.resolve("blocks.-1.hook_resid_post") == "blocks.2.hook_resid_post")
        #expect(try resolver.resolve("layers.1.self_attn") == "blocks.1.hook_attn_out")
        #expect(try resolver.resolve("model.layers.2") == "blocks.2.hook_resid_post")
        #expect(try resolver.resolve("layers.0.mlp") == "blocks.0.hook_mlp_out")
        #expect(try resolver.resolve("pattern", layer: -2) == "blocks.1.attn.hook_pattern")
        #expect(try resolver.resolve("resid_pre", layer: 0) == "blocks.0.hook_resid_pre")
    }

    @Test func unknownNamesSuggestNeighbours() {
        do {
            _ = try resolver.resolve("blocks.1.attn.hook_zz")
            Issue.record("expected an error")
        } catch let error as HookNameError {
            #expect(error.description.contains("blocks.1.attn.hook_z"))
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: HookNameError.layerOutOfRange(name: "blocks.3.hook_resid_pre", layer: 3, layerCount: 3)) {
            try resolver.resolve("blocks.3.hook_resid_pre")
        }
    }
}
