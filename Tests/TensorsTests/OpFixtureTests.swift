import Foundation
import Testing
import Tensors

/// One case of Fixtures/ops.json, written by scripts/make_op_fixtures.py from PyTorch.
struct OpFixture {
    let name: String
    let op: String
    let params: [String: Any]
    let inputs: [Tensor]
    let outputs: [Tensor]
    let upstreams: [Tensor]
    let grads: [Tensor]

    static let all: [String: OpFixture] = {
        let url = Bundle.module.url(forResource: "ops", withExtension: "json", subdirectory: "Fixtures")!
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let cases = (root["cases"] as! [[String: Any]]).map(OpFixture.init)
        return Dictionary(uniqueKeysWithValues: cases.map { ($0.name, $0) })
    }()

    static var names: [String] { all.keys.sorted() }

    init(_ json: [String: Any]) {
        func tensors(_ key: String) -> [Tensor] { (json[key] as? [[String: Any]] ?? []).map(OpFixture.tensor) }
        name = json["name"] as! String
        op = json["op"] as! String
        params = json["params"] as? [String: Any] ?? [:]
        inputs = tensors("inputs")
        outputs = tensors("outputs")
        upstreams = tensors("upstreams")
        grads = tensors("grads")
    }

    static func tensor(_ json: [String: Any]) -> Tensor {
        let scalars = (json["data"] as! [Any]).map { value -> Float in
            switch value as? String {
            case "inf": return .infinity
            case "-inf": return -.infinity
            case "nan": return .nan
            default: return (value as! NSNumber).floatValue
            }
        }
        return Tensor(shape: json["shape"] as! [Int], scalars: scalars)
    }

    func int(_ key: String) -> Int { (params[key] as! NSNumber).intValue }
    func float(_ key: String) -> Float { (params[key] as! NSNumber).floatValue }
    func double(_ key: String) -> Double { (params[key] as! NSNumber).doubleValue }
    func flag(_ key: String) -> Bool { int(key) != 0 }
    func string(_ key: String) -> String { params[key] as! String }
    func ints(_ key: String) -> [Int] { (params[key] as! [NSNumber]).map(\.intValue) }
    func intRows(_ key: String) -> [[Int]] { (params[key] as! [[NSNumber]]).map { $0.map(\.intValue) } }

    func paddingMask() -> Tensor? {
        guard let rows = params["paddingMask"] as? [[NSNumber]] else { return nil }
        return Tensor(shape: [rows.count, rows.first?.count ?? 0], scalars: rows.joined().map(\.floatValue))
    }

    func rotary() -> RotaryEmbedding {
        let scaling: RotaryEmbedding.Scaling
        switch string("scaling") {
        case "linear": scaling = .linear(factor: double("factor"))
        case "llama3":
            scaling = .llama3(factor: double("factor"), lowFrequencyFactor: double("lowFrequencyFactor"),
                              highFrequencyFactor: double("highFrequencyFactor"),
                              originalMaxPositionEmbeddings: int("originalMaxPositionEmbeddings"))
        default: scaling = .none
        }
        return RotaryEmbedding(headDim: int("headDim"), rotaryDim: int("rotaryDim"), base: double("base"), scaling: scaling)
    }
}

/// Our implementation of each fixture `op`, from its inputs to its outputs.
let operations: [String: (OpFixture, [Tensor]) -> [Tensor]] = [
    "add": { _, x in [x[0] + x[1]] },
    "sub": { _, x in [x[0] - x[1]] },
    "mul": { _, x in [x[0] * x[1]] },
    "div": { _, x in [x[0] / x[1]] },
    "neg": { _, x in [-x[0]] },
    "addScalar": { f, x in [x[0] + f.float("value")] },
    "mulScalar": { f, x in [x[0] * f.float("value")] },
    "rsubScalar": { f, x in [f.float("value") - x[0]] },
    "exp": { _, x in [x[0].exp()] },
    "log": { _, x in [x[0].log()] },
    "tanh": { _, x in [x[0].tanh()] },
    "sqrt": { _, x in [x[0].sqrt()] },
    "squared": { _, x in [x[0].squared()] },
    "pow": { f, x in [x[0].pow(f.float("exponent"))] },
    "abs": { _, x in [x[0].abs()] },
    "clamp": { f, x in [x[0].clamped(min: f.float("min"), max: f.float("max"))] },
    "replacing": { f, x in
        let mask = f.params["mask"] as! [[NSNumber]]
        return [x[0].replacing(where: Tensor(shape: [mask.count, mask[0].count], scalars: mask.joined().map(\.floatValue)), with: x[1])]
    },
    "sumAxis": { f, x in [x[0].sum(axis: f.int("axis"), keepingDimension: f.flag("keep"))] },
    "sumAll": { _, x in [x[0].sum()] },
    "meanAxis": { f, x in [x[0].mean(axis: f.int("axis"), keepingDimension: f.flag("keep"))] },
    "meanAll": { _, x in [x[0].mean()] },
    "varianceAxis": { f, x in [x[0].variance(axis: f.int("axis"), keepingDimension: f.flag("keep"))] },
    "maxAxis": { f, x in [x[0].max(axis: f.int("axis"), keepingDimension: f.flag("keep"))] },
    "minAxis": { f, x in [x[0].min(axis: f.int("axis"), keepingDimension: f.flag("keep"))] },
    "reshape": { f, x in [x[0].reshaped(f.ints("shape"))] },
    "permute": { f, x in [x[0].permuted(f.ints("order"))] },
    "transpose": { f, x in [x[0].transposed(f.int("a"), f.int("b"))] },
    "slice": { f, x in [x[0].slice(axis: f.int("axis"), f.int("start")..<f.int("end"))] },
    "select": { f, x in [x[0].select(axis: f.int("axis"), f.int("index"))] },
    "indexSelect": { f, x in [x[0].indexSelect(axis: f.int("axis"), f.ints("indices"))] },
    "concatenate": { f, x in [Tensor.concatenate(x, axis: f.int("axis"))] },
    "stack": { f, x in [Tensor.stack(x, axis: f.int("axis"))] },
    "broadcastTo": { f, x in [x[0].broadcast(to: f.ints("shape"))] },
    "matmul": { f, x in [x[0].matmul(x[1], transposeSelf: f.flag("transposeSelf"), transposeOther: f.flag("transposeOther"))] },
    "softmax": { f, x in [x[0].softmax(axis: f.int("axis"))] },
    "logSoftmax": { f, x in [x[0].logSoftmax(axis: f.int("axis"))] },
    "layerNorm": { f, x in
        let result = x[0].layerNormWithScale(weight: x.count > 1 ? x[1] : nil, bias: x.count > 2 ? x[2] : nil,
                                             epsilon: f.float("epsilon"))
        return [result.output, result.scale]
    },
    "rmsNorm": { f, x in
        let result = x[0].rmsNormWithScale(weight: x.count > 1 ? x[1] : nil, epsilon: f.float("epsilon"))
        return [result.output, result.scale]
    },
    "gelu": { f, x in [x[0].gelu(approximate: f.string("approximate") == "tanh" ? .tanh : .none)] },
    "silu": { _, x in [x[0].silu()] },
    "sigmoid": { _, x in [x[0].sigmoid()] },
    "relu": { _, x in [x[0].relu()] },
    "rotaryInverseFrequencies": { f, _ in
        let frequencies = f.rotary().inverseFrequencies
        return [Tensor(shape: [frequencies.count], scalars: frequencies)]
    },
    "rotary": { f, x in [f.rotary().apply(to: x[0], positions: f.intRows("positions"))] },
    "attention": { f, x in
        let result = scaledDotProductAttention(query: x[0], key: x[1], value: x[2], paddingMask: f.paddingMask(),
                                               causal: f.flag("causal"))
        return [result.output, result.pattern]
    },
    "attentionMask": { f, _ in
        [attentionMask(queryCount: f.int("queryCount"), keyCount: f.int("keyCount"), paddingMask: f.paddingMask(),
                       causal: f.flag("causal"))]
    },
    "crossEntropy": { f, x in [crossEntropy(logits: x[0], targets: f.ints("targets"))] },
    "embedding": { f, x in [embedding(table: x[0], ids: f.intRows("ids"))] },
]

@Suite struct OpFixtureTests {
    static let tolerance: Float = 1e-5

    @Test func everyOperationHasAFixtureAndEveryFixtureAnOperation() {
        #expect(Set(OpFixture.all.values.map(\.op)) == Set(operations.keys))
    }

    @Test(arguments: OpFixture.names)
    func matchesPyTorch(_ name: String) throws {
        let fixture = try #require(OpFixture.all[name])
        let run = try #require(operations[fixture.op], "no operation \(fixture.op)")
        let outputs = run(fixture, fixture.inputs)
        try #require(outputs.count == fixture.outputs.count)
        for (k, (actual, expected)) in zip(outputs, fixture.outputs).enumerated() {
            let error = relativeError(actual, expected)
            #expect(error != nil && error! <= Self.tolerance, "\(name) output \(k): error \(String(describing: error)), \(actual) vs \(expected)")
        }
        guard !fixture.grads.isEmpty else { return }
        let grads = tapeGradients(fixture.inputs, upstreams: fixture.upstreams) { run(fixture, $0) }
        for (k, (actual, expected)) in zip(grads, fixture.grads).enumerated() {
            let error = relativeError(actual, expected)
            #expect(error != nil && error! <= Self.tolerance, "\(name) gradient \(k): error \(String(describing: error)), \(actual) vs \(expected)")
        }
    }
}
