import Foundation
import GuideExamples
import LanguageModels

// Runs every seed-guide example on a model directory:
//   swift run guide-examples DIR "clean prompt" "corrupted prompt"
let arguments = CommandLine.arguments.dropFirst()
guard let directory = arguments.first else {
    FileHandle.standardError.write(Data("usage: guide-examples MODEL_DIR [CLEAN CORRUPTED]\n".utf8))
    exit(2)
}
let clean = arguments.dropFirst().first ?? "When Mary and John went to the store, John gave a drink to"
let corrupted = arguments.dropFirst(2).first ?? "When Mary and John went to the store, Mary gave a drink to"
do {
    let model = try LanguageModel.load(from: URL(fileURLWithPath: directory))
    let sections: [(String, () throws -> [String])] = [
        ("Direct logit attribution", { try SeedGuide.directLogitAttribution(model, text: clean) }),
        ("Residual stream", { try SeedGuide.residualStream(model, text: clean) }),
        ("Path patching", { try SeedGuide.pathPatching(model, clean: clean, corrupted: corrupted) }),
        ("Scanning paths", { try SeedGuide.scanPaths(model, clean: clean, corrupted: corrupted) }),
        ("ACDC", { try SeedGuide.acdc(model, clean: clean, corrupted: corrupted) }),
        ("Full workflow", { try SeedGuide.workflow(model, clean: clean, corrupted: corrupted) }),
        ("Attribution patching", { try SeedGuide.attributionPatching(model, clean: clean, corrupted: corrupted) }),
    ]
    for (title, run) in sections {
        print("== \(title)")
        for line in try run() { print(line) }
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
