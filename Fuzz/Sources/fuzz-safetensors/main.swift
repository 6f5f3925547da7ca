// Fuzzes SafetensorsFile: the input is a whole .safetensors file; every tensor it declares is read back.
import FuzzSupport
import LanguageModels

runFuzzer { data in
    let url = scratchFile(data, named: "model.safetensors")
    expectCleanFailure(mentioning: url.path) {
        let file = try SafetensorsFile(contentsOf: url)
        for name in file.tensorNames {
            switch try file.info(named: name).dtype {
            case let dtype where dtype.isFloatingPoint: _ = try file.tensor(named: name)
            case .uint32: _ = try file.uint32Scalars(named: name)
            default: _ = try file.withUnsafeBytes(ofTensor: name) { $0.reduce(0, &+) }
            }
        }
    }
}
