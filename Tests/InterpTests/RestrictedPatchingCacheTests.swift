import TestModels
import Testing
import Interp

/// Activation patching told its components caches only their points (and the target run's residual stream): its
/// sweeps equal those of a patching that caches every standard point, in both directions, and a component it
/// was not told about is refused by name instead of patched.
@Suite struct RestrictedPatchingCacheTests {
    @Test(arguments: [PatchDirection.denoising, .noising]) func restrictedCachesGiveTheSameSweeps(direction: PatchDirection) throws {
        let model = TestModels.make(llama: true, kvHeads: 2)
        let pairs = try PatchingTests.pairs()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let full = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: direction)
        for component in [PatchComponent.residPre, .headOut, .mlpOut, .pattern] {
            let restricted = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: direction,
                                                    components: [component])
            #expect(try restricted.sweep(component).values == full.sweep(component).values, "\(component)")
        }
        let residOnly = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: direction, components: [.residPre])
        #expect(throws: ActivationCacheError.self) { try residOnly.sweep(.attnOut) }
    }
}
