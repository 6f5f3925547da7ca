import Foundation
import Testing

/// `interp attribute --atp-star`: node attribution as JSON on the embedded model's task.
@Suite struct AtPStarCommandTests {
    @Test func atpStarPrintsNodesAndComparisonsAsJSON() throws {
        let task = EmbeddedModelPath.directory + "/task.json"
        let result = try CLI.run(["attribute", "--task", task, "--limit", "2", "--atp-star", "--compare-exact", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let entries = try #require(json["entries"] as? [[String: Any]])
        // 3 layers of 4 heads (output, q, k, v) and an MLP.
        #expect(entries.count == 3 * (4 * 4 + 1))
        #expect(Set(entries.map { $0["node"] as! String }).isSuperset(of: ["a0.h0", "a2.h3<k>", "m1"]))
        #expect(entries.allSatisfy { $0["atpQKFix"] != nil && $0["gradDrop"] != nil && $0["exact"] != nil })
        let comparisons = try #require(json["comparisons"] as? [[String: Any]])
        #expect(comparisons.map { $0["estimator"] as! String } == ["atp", "atp_qk_fix", "grad_drop"])
    }

    @Test func qkFixAloneLeavesGradDropOut() throws {
        let task = EmbeddedModelPath.directory + "/task.json"
        let result = try CLI.run(["attribute", "--task", task, "--limit", "1", "--qk-fix", "--granularity", "by-position", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let entries = try #require(json["entries"] as? [[String: Any]])
        #expect(entries.allSatisfy { $0["gradDrop"] == nil && $0["exact"] == nil && $0["position"] != nil })
        #expect(json["comparisons"] == nil)
    }
}
