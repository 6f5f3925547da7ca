import Foundation
import Interp

extension TestModels {
    /// The Gemma-2 fixture (a sliding window of 4 in layer 0, soft-capping, post-norms; made by
    /// scripts/make_family_fixtures.py) with two prompt pairs of 12 and 9 tokens corrupted at positions 2 and 6:
    /// keys before the first changed position fall partly outside the window, and the window stops a key change
    /// from reaching queries 4 or more positions later.
    public static func gemma2SlidingWindowCase() throws -> (model: TransformerModel, pairs: PromptPairs) {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/gemma2")
        let model = try TransformerModel.load(Checkpoint(directory: directory))
        let pairs = try PromptPairs(clean: [[196, 144, 216, 230, 168, 98, 36, 160, 23, 55, 145, 202], [86, 40, 176, 2, 85, 87, 198, 10, 98]],
                                    corrupted: [[196, 144, 217, 230, 168, 98, 36, 160, 23, 55, 145, 202], [86, 40, 176, 2, 85, 87, 199, 10, 98]],
                                    answers: [5, 9], wrongs: [1, 2])
        return (model, pairs)
    }
}
