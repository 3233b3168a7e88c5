import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// Files written by h5py (Tests/Fixtures/make_fixtures.py), not by DAKit.
final class FixtureTests: XCTestCase {
    func testH5pyDomainFileWithChunksGzipAndStringAttributes() throws {
        let url = fixture("h5py_domain.h5")
        let data = try DomainDatasetFile.load(url)
        XCTAssertEqual(data.classNames, ["zero", "one", "two"])
        XCTAssertEqual(data.shiftDescription, "target images inverted")
        XCTAssertEqual(data.source.x.shape, [30, 1, 4, 4])
        XCTAssertEqual(data.source.y, (0..<30).map { $0 % 3 })
        XCTAssertEqual(data.target.y, (0..<20).map { $0 % 3 })
        XCTAssertEqual(data.targetTest?.y, [0, 1, 2, 0, 1, 2])
        XCTAssertNil(data.sourceValidation)
        XCTAssertTrue(data.source.x.scalars.allSatisfy { $0 >= 0 && $0 <= 255 && $0.rounded() == $0 })
        XCTAssertTrue(data.target.x.scalars.allSatisfy { $0 >= 0 && $0 < 1 })

        let file = try HDF5File(reading: url)
        let root = try file.root
        XCTAssertEqual(try root.attribute("fixed_note"), .string("fixed"))
        XCTAssertEqual(try root.attribute("fixed_list"), .strings(["ab", "cde"]))
        XCTAssertEqual(try root.attribute("version"), .integer(3))
        XCTAssertEqual(try root.attribute("scale"), .doubles([0.5, 2]))
        let sourceInfo = try file.dataset("/source/x").info()
        XCTAssertEqual(sourceInfo.elementType, .integer(bytes: 1, signed: false))
        XCTAssertEqual(sourceInfo.chunkShape, [8, 1, 4, 4])
        XCTAssertEqual(sourceInfo.filters, ["gzip(6)"])
        XCTAssertEqual(try file.dataset("/target/x").info().filters, ["shuffle", "gzip(4)"])
        // A hyperslab of a gzip-chunked dataset equals the same rows of the full read.
        XCTAssertEqual(try file.dataset("/target/x").readTensor(rows: 3..<12), data.target.x.slice(axis: 0, 3..<12))
        // The .npy copy of /source/x (read by DAKit's .npy reader) holds the same values.
        XCTAssertEqual(try NumPyFile.read(fixture("h5py_domain_source_x.npy")), data.source.x)
    }

    func testEveryNumericDtypeConverts() throws {
        let file = try HDF5File(reading: fixture("h5py_dtypes.h5"))
        for name in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "big_endian_float32"] {
            var expected = (0..<12).map(Float.init)
            if !name.hasPrefix("u") && name != "big_endian_float32" { expected[0] = -1 }
            let dataset = try file.dataset(name)
            XCTAssertEqual(try dataset.readTensor(), Tensor(shape: [3, 4], scalars: expected), name)
            XCTAssertEqual(try dataset.readIntegers(), expected.map { Int($0) }, name)
        }
        XCTAssertEqual(try file.dataset("uint16").info().elementType, .integer(bytes: 2, signed: false))
        XCTAssertEqual(try file.dataset("float64").info().elementType, .float(bytes: 8))
    }

    /// Conv2D(2→3, 3×3) → ReLU → Flatten → Dense(12→4) → ReLU → Dense(4→2) on 2×4×4 inputs.
    func makeSmallCNN() -> Sequential {
        var rng = SeededGenerator(seed: 5)
        return Sequential(
            Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, rng: &rng), ReLU(), Flatten(),
            Dense(12, 4, rng: &rng), ReLU(), Dense(4, 2, rng: &rng))
    }

    func checkKerasFile(_ name: String) throws {
        let url = fixture(name)
        let model = makeSmallCNN()
        let mappings = try KerasWeights.load(url, into: [("", model)], inputShape: [2, 4, 4])
        XCTAssertEqual(mappings.map(\.modelPath), ["0", "3", "5"])
        XCTAssertEqual(mappings.map(\.permutedFlattenInput), [false, true, false])
        // The reference input and Keras-convention output (computed with NumPy) live in the Keras 3 fixture.
        let file = try HDF5File(reading: fixture("keras3_small.weights.h5"))
        let inputNHWC = try file.dataset("/reference/input_nhwc").readTensor()
        let expected = try file.dataset("/reference/output").readTensor()
        let output = model(inputNHWC.transposed([0, 3, 1, 2]))
        XCTAssertLessThan(output.maxAbsDifference(expected), 1e-4, "\(name): \(output) vs \(expected)")
    }

    func testKeras3WeightsGiveKerasOutputs() throws { try checkKerasFile("keras3_small.weights.h5") }

    func testKeras2WeightsGiveKerasOutputs() throws { try checkKerasFile("keras2_small.h5") }

    func testKerasImportErrors() throws {
        var rng = SeededGenerator(seed: 1)
        let wrong = Sequential(
            Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, rng: &rng), ReLU(), Flatten(),
            Dense(12, 5, rng: &rng), ReLU(), Dense(5, 2, rng: &rng))
        let before = wrong.state.map(\.parameter.value)
        assertThrows(["keras3_small.weights.h5", "'dense' weight has shape [4, 12]", "3.weight has shape [5, 12]"]) {
            try KerasWeights.load(fixture("keras3_small.weights.h5"), into: [("", wrong)], inputShape: [2, 4, 4])
        }
        XCTAssertEqual(wrong.state.map(\.parameter.value), before, "nothing is assigned when a shape does not fit")
        assertThrows(["give the model's input shape"]) {
            try KerasWeights.load(fixture("keras2_small.h5"), into: [("", makeSmallCNN())])
        }
        let mlp = Sequential(Dense(12, 4, rng: &rng))
        assertThrows(["1 Conv2D layer(s)", "the model has 0"]) { try KerasWeights.load(fixture("keras2_small.h5"), into: [("", mlp)]) }
        assertThrows(["not a Keras weights file", "/source"]) { try KerasWeights.read(fixture("h5py_domain.h5")) }
    }

    func testPyTorchStateDictLayout() throws {
        var rng = SeededGenerator(seed: 2)
        let model = Sequential(Dense(3, 4, rng: &rng), BatchNorm(features: 4), ReLU(), Dense(4, 2, rng: &rng))
        try PyTorchWeights.load(fixture("pytorch_small.h5"), into: model.state)
        let file = try HDF5File(reading: fixture("pytorch_small.h5"))
        let byPath = Dictionary(uniqueKeysWithValues: model.state.map { ($0.path, $0.parameter.value) })
        XCTAssertEqual(byPath["0.weight"], try file.dataset("/0/weight").readTensor())
        XCTAssertEqual(byPath["1.gamma"], try file.dataset("/1/weight").readTensor())
        XCTAssertEqual(byPath["1.beta"], try file.dataset("/1/bias").readTensor())
        XCTAssertEqual(byPath["1.running_var"], try file.dataset("/1/running_var").readTensor())
        XCTAssertEqual(byPath["3.bias"], try file.dataset("/3/bias").readTensor())
        // A bare nn.Sequential loaded under a prefix, in file order from its `keys` attribute.
        let prefixed = model.state.map { NamedParameter(path: "features.\($0.path)", parameter: $0.parameter) }
        for p in prefixed { p.parameter.value = Tensor.zeros(p.parameter.shape) }
        try PyTorchWeights.load(fixture("pytorch_small.h5"), into: prefixed, keyPrefix: "features")
        XCTAssertEqual(prefixed.first { $0.path == "features.1.gamma" }?.parameter.value, try file.dataset("/1/weight").readTensor())
        let (_, order, _) = try Checkpoint.readAll(from: fixture("pytorch_small.h5"))
        XCTAssertEqual(order.prefix(3), ["0.weight", "0.bias", "1.weight"])
        let wrong = Sequential(Dense(3, 5, rng: &rng), BatchNorm(features: 5), ReLU(), Dense(5, 2, rng: &rng))
        assertThrows(["parameter 0.weight has shape [4, 3] in the file but [5, 3] in the model"]) {
            try PyTorchWeights.load(fixture("pytorch_small.h5"), into: wrong.state)
        }
    }
}
