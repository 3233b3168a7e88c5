import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// Streaming training (`StreamingDomainFile`: every x read from the file a block at a time) gives
/// the numbers of in-memory training wherever the sampling is the same:
/// - blocks that cover a whole domain (a small file, or the default 16 MiB blocks of any domain
///   below that): the sampler's pass is the plain seeded permutation, as in memory;
/// - smaller blocks: the pass is block-shuffled (blocks in a seeded order, rows shuffled inside
///   each), so the batch order differs from an in-memory run's plain permutation and so do the
///   numbers; an in-memory source with the same block size gives the streamed numbers exactly.
final class StreamingTrainingTests: XCTestCase {
    /// In-memory inputs that ask the sampler for `blockRows`-row blocks, as a streamed file would.
    struct BlockedSource: BatchSource {
        let memory: InMemorySource
        let blockRows: Int
        var count: Int { memory.count }
        var sampleShape: [Int] { memory.sampleShape }
        func inputs(rows: [Int]) throws -> Tensor { try memory.inputs(rows: rows) }
    }

    private func file() throws -> (URL, DomainDataset) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-stream-\(ProcessInfo.processInfo.processIdentifier)-\(name.hashValue).h5")
        let dataset = MoonsGenerator.make(samplesPerClass: 300, rotationDegrees: 35, testSamplesPerClass: 100, seed: 4)
        try DomainDatasetFile.save(dataset, to: url)
        return (url, try DomainDatasetFile.load(url))
    }

    private func train(_ data: TrainingData) throws -> TrainingResult {
        let model = Fixtures.model(seed: 2)
        let registry = StrategyRegistry.builtIn
        let terms = [
            try registry.makeTerm("mmd", context: Fixtures.context(model)),
            try registry.makeTerm("selfTraining", options: StrategyOptions(["rounds": .number(2), "warmup": .number(0.5)]), context: Fixtures.context(model)),
        ]
        var configuration = TrainerConfiguration(epochs: 4, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05), seed: 7)
        configuration.targetLabels = .perClass(3)
        return try Trainer(model: model, data: data, configuration: configuration, strategies: terms).run()
    }

    private func assertSameNumbers(_ a: TrainingResult, _ b: TrainingResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.epochs.map(\.losses), b.epochs.map(\.losses), file: file, line: line)
        XCTAssertEqual(a.epochs.map(\.diagnostics), b.epochs.map(\.diagnostics), file: file, line: line)
        XCTAssertEqual(a.epochs.map(\.targetAccuracy), b.epochs.map(\.targetAccuracy), file: file, line: line)
        XCTAssertEqual(a.finalTarget, b.finalTarget, file: file, line: line)
        XCTAssertEqual(a.finalSource, b.finalSource, file: file, line: line)
    }

    func testStreamedAndInMemoryTrainingGiveTheSameNumbers() throws {
        let (url, dataset) = try file()
        defer { try? FileManager.default.removeItem(at: url) }
        let streamed = try StreamingDomainFile.open(url)
        XCTAssertTrue(streamed.source.isStreamed, "read from the file")
        XCTAssertEqual(streamed.targetEvaluation?.name, "targetTest")
        let memory = try train(TrainingData(dataset))
        assertSameNumbers(memory, try train(streamed))
        XCTAssertEqual(memory.grantedTargetLabels, 6)
        XCTAssertNotNil(memory.epochs.last?.diagnostics["selfTraining.keptAccuracy"])
    }

    func testSmallBlocksShuffleByBlockAndMatchTheSameBlocksInMemory() throws {
        let (url, dataset) = try file()
        defer { try? FileManager.default.removeItem(at: url) }
        let streamed = try train(StreamingDomainFile.open(url, blockRows: 64))
        let blocked = TrainingData(
            source: LabelledDomain(inputs: BlockedSource(memory: InMemorySource(dataset.source.x), blockRows: 64), labels: dataset.source.y!),
            target: BlockedSource(memory: InMemorySource(dataset.target.x), blockRows: 64), targetLabels: dataset.target.y,
            sourceValidation: dataset.sourceValidation.map { LabelledDomain(inputs: InMemorySource($0.x), labels: $0.y!) },
            targetTest: (InMemorySource(dataset.targetTest!.x), dataset.targetTest!.y), classNames: dataset.classNames,
            shiftDescription: dataset.shiftDescription)
        assertSameNumbers(streamed, try train(blocked))
        XCTAssertNotEqual(streamed.epochs.map(\.losses), try train(TrainingData(dataset)).epochs.map(\.losses), "block-shuffled order differs")
    }
}
