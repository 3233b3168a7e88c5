import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// Weights leave DAKit as they came in: export → import gives the same weights, and exporting what
/// was imported from an h5py / Keras-made fixture gives back the fixture's own values.
final class WeightExportTests: XCTestCase {
    /// An mlp extractor (with BatchNorm) or a lenet extractor, and a classifier head, as `dakit run` builds them.
    func model(_ arch: String, seed: UInt64) -> (roots: [(prefix: String, layer: any Layer)], state: [NamedParameter], inputShape: [Int]) {
        var rng = SeededGenerator(seed: seed)
        let inputShape = arch == "lenet" ? [2, 8, 8] : [5]
        let extractor = arch == "lenet"
            ? Architecture.lenet(inputShape: inputShape, channels: (3, 4), featureSize: 7, rng: &rng)
            : Architecture.mlp(inputShape: inputShape, hidden: [6, 4], batchNorm: true, rng: &rng)
        let head = Architecture.classifier(featureSize: extractor.featureSize, classCount: 3, hidden: 5, rng: &rng)
        func prefixed(_ prefix: String, _ layer: any Layer) -> [NamedParameter] {
            layer.state.map { NamedParameter(path: "\(prefix).\($0.path)", parameter: $0.parameter) }
        }
        let state = prefixed("features", extractor.network) + prefixed("classifier", head)
        // Running statistics that differ from their initial 0 / 1, so that a lost buffer shows.
        for item in state where item.path.hasSuffix("running_mean") || item.path.hasSuffix("running_var") {
            item.parameter.value = Tensor(shape: item.parameter.shape, scalars: (0..<item.parameter.value.count).map { Float($0) * 0.25 + 0.5 })
        }
        return ([("features", extractor.network), ("classifier", head)], state, inputShape)
    }

    func values(_ state: [NamedParameter]) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: state.map { ($0.path, $0.parameter.value) })
    }

    func testPyTorchExportImportRoundTrip() throws {
        let folder = try makeTemporaryFolder()
        for arch in ["mlp", "lenet"] {
            let original = model(arch, seed: 1)
            let fresh = model(arch, seed: 2)
            XCTAssertNotEqual(values(original.state), values(fresh.state), "\(arch): the two seeds differ")
            let url = folder.appendingPathComponent("\(arch).pt.h5")
            try PyTorchWeights.export(original.state, to: url)
            try PyTorchWeights.load(url, into: fresh.state)
            XCTAssertEqual(values(fresh.state), values(original.state), arch)
        }
        // PyTorch's names: BatchNorm weight/bias, running stats, num_batches_tracked; keys in order.
        let url = folder.appendingPathComponent("mlp.pt.h5")
        let file = try HDF5File(reading: url)
        let original = values(model("mlp", seed: 1).state)
        XCTAssertEqual(try file.dataset("/features/1/weight").readTensor(), original["features.1.gamma"])
        XCTAssertEqual(try file.dataset("/features/1/bias").readTensor(), original["features.1.beta"])
        XCTAssertEqual(try file.dataset("/features/1/running_var").readTensor(), original["features.1.running_var"])
        XCTAssertEqual(try file.dataset("/features/1/num_batches_tracked").info().elementType, .integer(bytes: 8, signed: true))
        XCTAssertEqual(try file.dataset("/features/0/weight").readTensor().shape, [6, 5], "Linear stays out × in")
        let keys = try file.root.attribute("keys").stringList
        XCTAssertEqual(Array(keys.prefix(7)), [
            "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "features.1.running_mean",
            "features.1.running_var", "features.1.num_batches_tracked",
        ])
    }

    func testPyTorchExportOfTheImportedFixtureGivesTheFixtureBack() throws {
        var rng = SeededGenerator(seed: 2)
        let model = Sequential(Dense(3, 4, rng: &rng), BatchNorm(features: 4), ReLU(), Dense(4, 2, rng: &rng))
        try PyTorchWeights.load(fixture("pytorch_small.h5"), into: model.state)
        let url = try makeTemporaryFolder().appendingPathComponent("again.h5")
        try PyTorchWeights.export(model.state, to: url)
        let (exported, exportedOrder, _) = try Checkpoint.readAll(from: url)
        let (expected, expectedOrder, _) = try Checkpoint.readAll(from: fixture("pytorch_small.h5"))
        XCTAssertEqual(exportedOrder, expectedOrder)
        // DAKit does not count BatchNorm batches: num_batches_tracked is exported as 0 (the fixture says 7).
        XCTAssertEqual(exported["1.num_batches_tracked"], Tensor.zeros([]))
        XCTAssertEqual(exported.filter { !$0.key.hasSuffix("num_batches_tracked") }, expected.filter { !$0.key.hasSuffix("num_batches_tracked") })
    }

    func testKerasExportImportRoundTrip() throws {
        let folder = try makeTemporaryFolder()
        for arch in ["mlp", "lenet"] {
            let original = model(arch, seed: 1)
            let fresh = model(arch, seed: 2)
            let url = folder.appendingPathComponent("\(arch).weights.h5")
            let exported = try KerasWeights.export(original.roots, inputShape: original.inputShape, to: url)
            let imported = try KerasWeights.load(url, into: fresh.roots, inputShape: fresh.inputShape)
            XCTAssertEqual(imported.map(\.modelPath), exported.map(\.modelPath), arch)
            XCTAssertEqual(imported.map(\.fileLayer), exported.map(\.fileLayer), arch)
            XCTAssertEqual(values(fresh.state), values(original.state), arch)
        }
        // lenet: conv2d, conv2d_1, then the Dense after Flatten (4 channels × 2 × 2) reordered to channels-last.
        let lenet = model("lenet", seed: 1)
        let mappings = try KerasWeights.export(lenet.roots, inputShape: lenet.inputShape, to: folder.appendingPathComponent("l.weights.h5"))
        XCTAssertEqual(mappings.map(\.fileLayer), ["conv2d", "conv2d_1", "dense", "dense_1", "dense_2"])
        XCTAssertEqual(mappings.map(\.permutedFlattenInput), [false, false, true, false, false])
        let file = try HDF5File(reading: folder.appendingPathComponent("l.weights.h5"))
        let weights = values(lenet.state)
        let conv = try file.dataset("/layers/conv2d_1/vars/0").readTensor()
        let convWeight = try XCTUnwrap(weights["features.3.weight"])  // O×C×KH×KW = 4×3×5×5
        XCTAssertEqual(conv.shape, [5, 5, 3, 4])
        let kerasIndex: Int = ((1 * 5 + 2) * 3 + 2) * 4 + 3  // kernel[kh 1][kw 2][c 2][o 3]
        let dakitIndex: Int = ((3 * 3 + 2) * 5 + 1) * 5 + 2  // weight[o 3][c 2][kh 1][kw 2]
        XCTAssertEqual(conv.scalars[kerasIndex], convWeight.scalars[dakitIndex])
        let dense = try file.dataset("/layers/dense/vars/0").readTensor()  // (H·W·C)×out
        let denseWeight = try XCTUnwrap(weights["features.7.weight"])  // out×(C·H·W), C 4, H 2, W 2
        XCTAssertEqual(dense.shape, [16, 7])
        // Keras row (h 1, w 0, c 3) = 1·2·4 + 0·4 + 3 = 11; DAKit column (c 3, h 1, w 0) = 3·4 + 1·2 + 0 = 14.
        XCTAssertEqual(dense.scalars[11 * 7 + 6], denseWeight.scalars[6 * 16 + 14])
    }

    func testKerasExportOfTheImportedFixtureGivesTheFixtureBack() throws {
        var rng = SeededGenerator(seed: 5)
        let model = Sequential(
            Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, rng: &rng), ReLU(), Flatten(),
            Dense(12, 4, rng: &rng), ReLU(), Dense(4, 2, rng: &rng))
        try KerasWeights.load(fixture("keras3_small.weights.h5"), into: [("", model)], inputShape: [2, 4, 4])
        let url = try makeTemporaryFolder().appendingPathComponent("again.weights.h5")
        try KerasWeights.export([("", model)], inputShape: [2, 4, 4], to: url)
        let exported = try HDF5File(reading: url)
        let original = try HDF5File(reading: fixture("keras3_small.weights.h5"))
        for path in ["/layers/conv2d/vars/0", "/layers/conv2d/vars/1", "/layers/dense/vars/0", "/layers/dense/vars/1", "/layers/dense_1/vars/0"] {
            XCTAssertEqual(try exported.dataset(path).readTensor(), try original.dataset(path).readTensor(), path)
        }
    }
}
