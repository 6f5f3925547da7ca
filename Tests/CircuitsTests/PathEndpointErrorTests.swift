import Foundation
import TestModels
import Testing
import Circuits

/// Path-patching endpoints a model does not have are refused with the names it does have: on a grouped-query
/// model a head's key input is read per key-value head (`a1.kv0<k>`), so `a1.h1<k>` names the spelling to use.
@Suite struct PathEndpointErrorTests {
    static let pairs = try! PromptPairs(clean: [[3, 7, 1, 9]], corrupted: [[3, 8, 1, 9]], answers: [5], wrongs: [1])

    @Test func groupedQueryKeyInputNamedPerHeadListsTheKeyValueHeads() throws {
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 2, kvHeads: 2), pairs: Self.pairs, metric: .logitDiff)
        #expect(throws: CircuitError.unknownNode(name: "a1.h1<k>", known: "input, a0.h0 … a1.h3, m0 … m1, logits; head inputs a1.h0<q>, "
                                                 + "a1.kv0<k>, a1.kv0<v> (keys and values per key-value head kv0 … kv1)")) {
            try patching.pathPatching(senders: ["a0.h0"], receivers: ["a1.h1<k>"])
        }
        #expect(try patching.pathPatching(senders: ["a0.h0"], receivers: ["a1.kv0<k>"]).value.isFinite)
    }

    @Test func senderOutsideTheModelListsItsLayers() throws {
        let patching = try EdgePatching(model: TestModels.make(llama: false, layers: 2), pairs: Self.pairs, metric: .logitDiff)
        let error = #expect(throws: CircuitError.self) { try patching.pathPatching(senders: ["a5.h0"], receivers: ["logits"]) }
        #expect(error?.description.hasPrefix("unknown node 'a5.h0': this model's nodes are input, a0.h0 … a1.h") == true)
        #expect(error?.description.contains("a1.h0<k>") == true)
    }
}
