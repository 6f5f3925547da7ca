// Fuzzes Circuit.read(from:): the input is a circuit JSON file; a circuit that loads is summarised and written back.
import FuzzSupport
import Circuits

runFuzzer { data in
    let url = scratchFile(data, named: "circuit.json")
    expectCleanFailure(mentioning: url.path) {
        let circuit = try Circuit.read(from: url)
        _ = circuit.summary()
        _ = circuit.dot()
        _ = try circuit.jsonData()
    }
}
