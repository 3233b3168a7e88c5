import Foundation
import HDF5Kit
import TensorCore

/// HDF5 benchmark cases: streaming a 1 GiB compressed dataset, and reading a small one whole
/// (the number to compare with h5py, Benchmarks/h5py_reference.py).
extension BenchCase {
    /// Rows of 1024 float32 values (4 KiB), chunks of 256 rows (1 MiB), byte shuffle + gzip level 1.
    static let hdf5RowWidth = 1024
    static let hdf5ChunkRows = 256

    /// Writes `rows` × 1024 float32 values, chunked and gzip-compressed, in 16 MiB slabs. The values are
    /// seeded normals rounded to 1/256 (like quantised sensor or image data), so gzip has something to do.
    static func writeHDF5BenchFile(_ url: URL, rows: Int) throws {
        try HDF5File.writeAtomically(to: url) { file in
            let x = try file.root.createDataset(
                "source/x", shape: [rows, hdf5RowWidth], type: .float32, chunkShape: [hdf5ChunkRows, hdf5RowWidth], gzipLevel: 1)
            var rng = SeededGenerator(seed: 42)
            let slab = 4096
            for start in stride(from: 0, to: rows, by: slab) {
                let count = min(slab, rows - start)
                var values = [Float](repeating: 0, count: count * hdf5RowWidth)
                for i in values.indices { values[i] = (rng.nextNormal() * 256).rounded() / 256 }
                try x.write(Tensor(shape: [count, hdf5RowWidth], scalars: values), atRow: start)
            }
            try file.root.write(integers: (0..<rows).map { $0 % 10 }, to: "source/y", chunkShape: [65536], gzipLevel: 1)
        }
    }

    /// Peak resident memory of this process so far (VmHWM), in MiB; nil where /proc is absent.
    static func peakResidentMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first
            return kilobytes.map { $0 / 1024 }
        }
        return nil
    }

    static let hdf5Stream1G = BenchCase(
        name: "hdf5-stream-1g",
        summary: "one epoch of 256-row minibatches streamed (block-shuffled) from a 1 GiB gzip-chunked float32 dataset it writes first"
    ) { _ in
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-bench-hdf5-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("stream-1g.h5")
        let rows = (1 << 30) / (hdf5RowWidth * 4)
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        let writeTime = try clock.measure { try writeHDF5BenchFile(url, rows: rows) }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.doubleValue ?? 0
        let stream = try StreamingDataset(url: url, classCount: 10)
        var batches = 0
        var checksum: Double = 0
        let readTime = try clock.measure {
            var epoch = stream.epoch(0, batchSize: 256, seed: 1)
            while let batch = try epoch.next() {
                batches += 1
                checksum += Double(batch.x.scalars[0])
            }
        }
        precondition(batches == rows / 256 && checksum.isFinite, "hdf5-stream-1g: read \(batches) batches, expected \(rows / 256)")
        let megabytes = Double(rows * hdf5RowWidth * 4) / 1_048_576
        let peak = peakResidentMiB() ?? .nan
        if peak.isFinite && peak >= 256 {
            FileHandle.standardError.write(Data("hdf5-stream-1g: peak memory \(Int(peak)) MiB is above the 256 MiB budget\n".utf8))
        }
        return BenchResult(
            msPerStep: seconds(readTime) * 1e3 / Double(batches), gflops: nil,
            extra: [
                ("mb_per_s", megabytes / seconds(readTime)), ("peak_rss_mib", peak), ("write_s", seconds(writeTime)),
                ("file_mib", fileBytes / 1_048_576), ("batches", Double(batches)),
            ])
    }

    /// The file `hdf5-read-64m` leaves for Benchmarks/h5py_reference.py to read.
    static var hdf5SmallFile: URL { FileManager.default.temporaryDirectory.appendingPathComponent("dakit-bench-hdf5-read-64m.h5") }

    static let hdf5Read64M = BenchCase(
        name: "hdf5-read-64m",
        summary: "read a whole 64 MiB gzip-chunked float32 dataset into a Tensor (compare: Benchmarks/h5py_reference.py)"
    ) { settings in
        let url = hdf5SmallFile
        try writeHDF5BenchFile(url, rows: (64 << 20) / (hdf5RowWidth * 4))
        let dataset = try HDF5File(reading: url).dataset("/source/x")
        var sink: Float = 0
        let ms = try settings.medianMilliseconds { sink += try dataset.readTensor().scalars[1] }
        precondition(sink.isFinite, "hdf5-read-64m: non-finite values")
        return BenchResult(msPerStep: ms, gflops: nil, extra: [("mb_per_s", 64 / (ms / 1e3))])
    }
}
