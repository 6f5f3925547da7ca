import TestModels
import Foundation
import Testing
import Circuits

/// A checkpoint stores ACDC's removed-edge mask as ranges of removed entries; states decode to themselves, and
/// checkpoints in the older form (the whole mask as numbers) still decode.
@Suite struct ACDCStateCodingTests {
    /// The states a small run checkpoints, from its start to its end.
    static func savedStates() throws -> [ACDCState] {
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs: try BatchedACDCTests.pairs(),
                                        metric: .kl)
        var saved: [ACDCState] = []
        _ = try patching.acdcEdges(ACDCOptions(threshold: 0.002, maxBatchSize: 4), checkpointInterval: 9, checkpoint: { saved.append($0) })
        return saved
    }

    @Test func statesRoundTripThroughTheRangeForm() throws {
        let states = try Self.savedStates()
        #expect(states.count >= 3)
        for state in states {
            let data = try JSONEncoder().encode(state)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["removed"] == nil && object["maskSize"] as? Int == state.removed.count)
            let ranges = try #require(object["removedRanges"] as? [[Int]])
            // The ranges cover exactly the removed entries, each a maximal run.
            var mask = [Float](repeating: 0, count: state.removed.count)
            for range in ranges { for index in range[0]..<range[1] { mask[index] = 1 } }
            #expect(mask == state.removed, "tested \(state.tested)")
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0[1] < $1[0] }, "runs are separate and in order")
            #expect(try JSONDecoder().decode(ACDCState.self, from: data) == state, "tested \(state.tested)")
        }
    }

    /// A checkpoint written before the range form (the mask as a list of numbers, the other fields as they were).
    @Test func olderCheckpointsDecode() throws {
        for state in try Self.savedStates() {
            let older: [String: Any] = [
                "removed": state.removed.map(Double.init), "current": Double(state.current), "receiver": state.receiver,
                "sender": state.sender, "alive": Array(state.alive), "tested": state.tested,
                "effects": Dictionary(uniqueKeysWithValues: state.effects.map { ("\($0.key)", Double($0.value)) }),
                "threshold": Double(state.threshold), "metric": state.metric, "edgeCount": state.edgeCount,
            ]
            let decoded = try JSONDecoder().decode(ACDCState.self, from: try JSONSerialization.data(withJSONObject: older))
            #expect(decoded == state, "tested \(state.tested)")
        }
    }

    @Test func rangesOutsideTheMaskAreRefused() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(try Self.savedStates()[0])) as? [String: Any])
        for bad in [[[0, 5, 7]], [[3, 2]], [[-1, 2]], [[0, (object["maskSize"] as? Int ?? 0) + 1]]] {
            object["removedRanges"] = bad
            #expect(throws: DecodingError.self, "\(bad)") {
                try JSONDecoder().decode(ACDCState.self, from: try JSONSerialization.data(withJSONObject: object))
            }
        }
    }
}
