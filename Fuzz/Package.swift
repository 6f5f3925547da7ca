// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer targets for the parsers of files a user hands to `interp`, kept out of the main package so
/// that its build and CI are unaffected. Build and run them with `scripts/fuzz.sh` (see README.md,
/// "Robustness checks"); they need `-sanitize=fuzzer` and link only with lld.
let fuzzTargets = ["fuzz-safetensors", "fuzz-tokenizer-json", "fuzz-tokenizer-encode", "fuzz-task-file", "fuzz-circuit-file", "fuzz-gguf"]

let package = Package(
    name: "swift-interp-fuzz",
    platforms: [.macOS(.v14)],
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(name: "swift-interp", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["FuzzDriver"]),
    ] + fuzzTargets.map {
        .executableTarget(name: $0, dependencies: ["FuzzSupport", .product(name: "SwiftInterp", package: "swift-interp")])
    },
    swiftLanguageModes: [.v5]
)
