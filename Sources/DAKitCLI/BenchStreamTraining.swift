import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

/// Streaming training: one epoch over a generated domain file of 2 GiB (source and target x, 1 GiB
/// each, uncompressed chunks), read through `StreamingDomainFile` with bounded memory, against
/// in-memory training on a 64 MiB file of the same kind.
extension BenchCase {
    /// Writes a domain file: `rowsPerDomain` rows of 1024 float32 values per domain (source, and a
    /// target shifted by +0.5), labels `row % 10`, chunks of 256 rows, uncompressed (the file is the
    /// full 2 GiB on disk; x values rounded to 1/256).
    static func writeDomainBenchFile(_ url: URL, rowsPerDomain: Int) throws {
        try HDF5File.writeAtomically(to: url) { file in
            var rng = SeededGenerator(seed: 42)
            for (domain, shift) in [("source", Float(0)), ("target", 0.5)] {
                let x = try file.root.createDataset(
                    "\(domain)/x", shape: [rowsPerDomain, hdf5RowWidth], type: .float32, chunkShape: [hdf5ChunkRows, hdf5RowWidth])
                for start in stride(from: 0, to: rowsPerDomain, by: 4096) {
                    let count = min(4096, rowsPerDomain - start)
                    var values = [Float](repeating: 0, count: count * hdf5RowWidth)
                    for i in values.indices {
                        // Class signal in the first 10 features, so training has something to learn.
                        let label = (start + i / hdf5RowWidth) % 10
                        let signal: Float = i % hdf5RowWidth == label ? 2 : 0
                        values[i] = ((rng.nextNormal() + signal + shift) * 256).rounded() / 256
                    }
                    try x.write(Tensor(shape: [count, hdf5RowWidth], scalars: values), atRow: start)
                }
                try file.root.write(integers: (0..<rowsPerDomain).map { $0 % 10 }, to: "\(domain)/y", chunkShape: [65536], gzipLevel: 1)
            }
        }
    }

    /// Trains one epoch of a 1024-64-10 MLP (batch 256 per domain, SGD, no strategy) on `data`;
    /// returns the seconds and the samples (source + target rows) per second.
    static func trainOneEpoch(_ data: TrainingData) throws -> (seconds: Double, samplesPerSecond: Double, targetAccuracy: Double) {
        var rng = SeededGenerator(seed: 1).fork("model")
        let model = AdaptationModel.build(inputShape: [hdf5RowWidth], classCount: 10, spec: ModelSpec(extractor: .mlp(hidden: [64])), rng: &rng)
        let configuration = TrainerConfiguration(epochs: 1, batchSize: 256, optimizer: OptimizerConfiguration(learningRate: 0.01), seed: 1)
        let result = try Trainer(model: model, data: data, configuration: configuration, strategies: []).run()
        let samples = Double(result.steps * 2 * configuration.batchSize)
        return (result.wallSeconds, samples / result.wallSeconds, result.finalTarget?.accuracy ?? .nan)
    }

    static let trainStream2G = BenchCase(
        name: "train-stream-2g",
        summary: "one training epoch streamed from a 2 GiB generated domain file (1 GiB per domain, chunked; peak RSS < 512 MiB), "
            + "against in-memory training on a 64 MiB file"
    ) { _ in
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-bench-stream-train-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("domains-2g.h5"), small = folder.appendingPathComponent("domains-64m.h5")
        let rowsPerDomain = (1 << 30) / (hdf5RowWidth * 4)
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        let writeTime = try clock.measure { try writeDomainBenchFile(big, rowsPerDomain: rowsPerDomain) }
        let bytes = try StreamingDomainFile.inMemoryBytes(big)
        precondition(bytes > StreamingDomainFile.memoryBudgetBytes, "train-stream-2g: \(bytes) bytes of x must exceed the memory budget")
        let streamed = try trainOneEpoch(StreamingDomainFile.open(big))
        // Measured before the in-memory run: VmHWM only grows.
        let peak = peakResidentMiB() ?? .nan
        if peak.isFinite && peak >= 512 {
            FileHandle.standardError.write(Data("train-stream-2g: peak memory \(Int(peak)) MiB is above the 512 MiB budget\n".utf8))
        }
        try writeDomainBenchFile(small, rowsPerDomain: rowsPerDomain / 32)
        let memory = try trainOneEpoch(TrainingData(DomainDatasetFile.load(small)))
        return BenchResult(
            msPerStep: streamed.seconds * 1e3 / Double(rowsPerDomain / 256), gflops: nil,
            extra: [
                ("stream_samples_per_s", streamed.samplesPerSecond), ("memory_samples_per_s", memory.samplesPerSecond),
                ("stream_vs_memory", streamed.samplesPerSecond / memory.samplesPerSecond), ("peak_rss_mib", peak),
                ("epoch_s", streamed.seconds), ("write_s", seconds(writeTime)), ("stream_target_accuracy", streamed.targetAccuracy),
            ])
    }
}
