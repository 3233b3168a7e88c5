import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

final class CheckpointTests: XCTestCase {
    func makeModel(seed: UInt64, classes: Int = 3) -> (features: Sequential, head: Sequential) {
        var rng = SeededGenerator(seed: seed)
        let features = Sequential(Dense(4, 6, rng: &rng), BatchNorm(features: 6), ReLU())
        let head = Sequential(Dense(6, classes, rng: &rng))
        return (features, head)
    }

    func state(_ model: (features: Sequential, head: Sequential)) -> [NamedParameter] {
        model.features.state.map { NamedParameter(path: "features.\($0.path)", parameter: $0.parameter) }
            + model.head.state.map { NamedParameter(path: "classifier.\($0.path)", parameter: $0.parameter) }
    }

    func testSaveLoadRoundTripWithMetadata() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("ckpt.h5")
        let a = makeModel(seed: 1)
        a.features.state.first { $0.path == "1.running_mean" }!.parameter.value = Tensor([1, 2, 3, 4, 5, 6])
        try Checkpoint.save(state(a), to: url, metadata: ["recipe_hash": "abc123", "step": "42"])
        let b = makeModel(seed: 2)
        XCTAssertNotEqual(b.features.state[0].parameter.value, a.features.state[0].parameter.value)
        let metadata = try Checkpoint.load(into: state(b), from: url)
        XCTAssertEqual(metadata["recipe_hash"], "abc123")
        XCTAssertEqual(metadata["step"], "42")
        XCTAssertEqual(metadata["dakit_version"], DAKitVersion.string)
        for (x, y) in zip(state(a), state(b)) { XCTAssertEqual(x.parameter.value, y.parameter.value, x.path) }
        // The layout is one dataset per path, as groups.
        let file = try HDF5File(reading: url)
        XCTAssertEqual(try file.dataset("/features/0/weight").shape, [6, 4])
        XCTAssertEqual(try file.dataset("/features/1/running_mean").readTensor(), Tensor([1, 2, 3, 4, 5, 6]))
    }

    func testShapeMismatchNamesFirstParameterAndChangesNothing() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("ckpt.h5")
        try Checkpoint.save(state(makeModel(seed: 1, classes: 3)), to: url)
        let other = makeModel(seed: 2, classes: 5)
        let before = state(other).map(\.parameter.value)
        assertThrows(["classifier.0.weight", "[3, 6] in the file", "[5, 6] in the model"]) {
            try Checkpoint.load(into: state(other), from: url)
        }
        XCTAssertEqual(state(other).map(\.parameter.value), before, "a failed load must not change any parameter")
    }

    func testPartialLoadOfFeatureExtractorLeavesNewHead() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("ckpt.h5")
        let a = makeModel(seed: 1, classes: 3)
        try Checkpoint.save(state(a), to: url)
        let b = makeModel(seed: 2, classes: 10)
        let headBefore = b.head.state.map(\.parameter.value)
        try Checkpoint.load(into: state(b), from: url, only: ["features"])
        XCTAssertEqual(b.features.state.map(\.parameter.value), a.features.state.map(\.parameter.value))
        XCTAssertEqual(b.head.state.map(\.parameter.value), headBefore)
    }

    func testMissingAndUnexpectedParameters() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("ckpt.h5")
        let a = makeModel(seed: 1)
        try Checkpoint.save(a.features.state.map { NamedParameter(path: "features.\($0.path)", parameter: $0.parameter) }, to: url)
        let b = makeModel(seed: 2)
        assertThrows(["missing 2 parameter(s): classifier.0.weight, classifier.0.bias", "the file holds features.0.weight"]) {
            try Checkpoint.load(into: state(b), from: url)
        }
        // Non-strict: loads what is there.
        try Checkpoint.load(into: state(b), from: url, strict: false)
        XCTAssertEqual(b.features.state[0].parameter.value, a.features.state[0].parameter.value)
        // The file holds more than a smaller model: strict refuses, naming the extras.
        var rng = SeededGenerator(seed: 9)
        let small = Sequential(Dense(4, 6, rng: &rng))
        let smallState = small.state.map { NamedParameter(path: "features.\($0.path)", parameter: $0.parameter) }
        assertThrows(["does not have", "features.1.gamma"]) { try Checkpoint.load(into: smallState, from: url) }
        assertThrows(["no model parameter matches 'encoder'"]) { try Checkpoint.load(into: smallState, from: url, only: ["encoder"]) }
    }

    func testDuplicatePathsAreRefused() throws {
        let folder = try makeTemporaryFolder()
        let p = Parameter(Tensor([1]))
        assertThrows(["appears twice"]) {
            try Checkpoint.save([NamedParameter(path: "a.w", parameter: p), NamedParameter(path: "a.w", parameter: p)],
                to: folder.appendingPathComponent("d.h5"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }
}
