// swift-tools-version: 6.1
import PackageDescription

/// C kernels are always compiled optimized: they carry their own per-function CPU targets
/// (run-time dispatch), so the plain `swift build` / `swift run` commands get the fast path. Multiply-adds are
/// fused except where a `#pragma clang fp contract(off)` asks for the unfused operations (quantdot.c's decoders).
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-ffp-contract=fast-honor-pragmas"])]

let package = Package(
    name: "swift-interp",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "interp", targets: ["InterpCLI"]),
        .library(name: "SwiftInterp", targets: ["Tensors", "LanguageModels", "Interp", "Circuits", "Reports"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        .target(name: "CKernels", cSettings: kernelFlags),
        .target(name: "Tensors", dependencies: ["CKernels", .product(name: "Numerics", package: "swift-numerics")]),
        .target(name: "LanguageModels", dependencies: ["Tensors"]),
        .target(name: "Interp", dependencies: ["LanguageModels"]),
        .target(name: "Circuits", dependencies: ["Interp"]),
        .target(name: "Reports", dependencies: ["Circuits"]),
        .executableTarget(
            name: "InterpCLI",
            dependencies: ["Reports", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            resources: [.copy("Resources/DefaultModel")]
        ),
        .target(name: "GuideExamples", dependencies: ["Circuits"]),
        .executableTarget(name: "guide-examples", dependencies: ["GuideExamples"]),
        .target(name: "TestModels", dependencies: ["Interp"], path: "Tests/TestModels"),
        .target(name: "TestScratch", path: "Tests/TestScratch"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LanguageModelsTests", dependencies: ["LanguageModels", "TestScratch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "InterpTests", dependencies: ["Interp", "TestModels", "TestScratch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["InterpCLI", "GuideExamples", "TestScratch"]),
        .testTarget(name: "CircuitsTests", dependencies: ["Circuits", "TestModels", "TestScratch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestModels", "TestScratch"]),
        .testTarget(name: "RobustnessTests", dependencies: ["Circuits", "TestScratch"]),
    ],
    swiftLanguageModes: [.v5]
)
