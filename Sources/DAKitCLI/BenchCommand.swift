import ArgumentParser
import Foundation
import NN
import TensorCore

/// What one benchmark case measured.
struct BenchResult {
    /// Median wall-clock milliseconds of one step.
    var msPerStep: Double
    /// Billions of floating-point operations per second at that median (nil where a case does no
    /// arithmetic worth counting, e.g. reading a file).
    var gflops: Double?
    /// Further numbers a case wants to report (e.g. `"gb_per_s"`), printed after the standard ones.
    var extra: [(key: String, value: Double)] = []

    /// One JSON object on one line: `{"case": NAME, "ms_per_step": X, "gflops": Y, …}`.
    func jsonLine(case name: String) -> String {
        func number(_ x: Double?) -> String {
            guard let x, x.isFinite else { return "null" }
            return String(format: "%.4f", x)
        }
        var fields = ["\"case\": \"\(name)\"", "\"ms_per_step\": \(number(msPerStep))", "\"gflops\": \(number(gflops))"]
        fields += extra.map { "\"\($0.key)\": \(number($0.value))" }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}

/// How a case should be run.
struct BenchSettings: Sendable {
    /// Untimed steps before timing starts.
    var warmup: Int
    /// Timed steps.
    var iterations: Int

    /// Runs `step` `warmup` times untimed, then `iterations` times timed, and returns the median
    /// step time in milliseconds (the median resists the odd descheduled step).
    func medianMilliseconds(_ step: () throws -> Void) rethrows -> Double {
        try measure(step).wall
    }

    /// Like `medianMilliseconds`, and also the median CPU time of the process per step (all
    /// threads together): on a shared machine the CPU time shows the work done even when the
    /// wall-clock time includes waiting for a core.
    func measure(_ step: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        for _ in 0..<warmup { try step() }
        var wall: [Double] = []
        var cpu: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<iterations {
            let cpuStart = Self.processCPUMilliseconds()
            let elapsed = try clock.measure { try step() }
            cpu.append(Self.processCPUMilliseconds() - cpuStart)
            wall.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15)
        }
        return (Self.median(wall), Self.median(cpu))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// CPU time used by this process so far, in milliseconds.
    static func processCPUMilliseconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) * 1e-6
    }
}

/// A named benchmark. To add one, append a `BenchCase` to `BenchCase.all` (or to the list your
/// module contributes there): a name, one line saying what a step is, and a closure that sets up
/// its data, times steps with `settings.medianMilliseconds` and returns a `BenchResult`.
struct BenchCase: Sendable {
    let name: String
    let summary: String
    let run: @Sendable (BenchSettings) throws -> BenchResult

    /// Every case `dakit bench` knows, in the order they run.
    static let all: [BenchCase] = [sgemm1024, sgemm1024Direct, mlp, cnnLeNet, hdf5Read64M, hdf5Stream1G, trainStream2G] + threadCases

    // MARK: Cases

    static let sgemm1024 = BenchCase(
        name: "sgemm-1024", summary: "1024×1024 · 1024×1024 through Tensor.matmul (allocates the result)"
    ) { settings in
        let n = 1024
        var rng = SeededGenerator(seed: 1)
        let a = Tensor.uniform([n, n], low: -1, high: 1, rng: &rng)
        let b = Tensor.uniform([n, n], low: -1, high: 1, rng: &rng)
        var sink: Float = 0
        let (ms, cpu) = settings.measure { sink += Tensor.matmul(a, b).scalars[0] }
        precondition(sink.isFinite, "sgemm-1024: non-finite result")
        return BenchResult(msPerStep: ms, gflops: 2 * pow(Double(n), 3) / (ms * 1e6), extra: [("cpu_ms_per_step", cpu)])
    }

    static let sgemm1024Direct = BenchCase(
        name: "sgemm-1024-direct", summary: "the same product by cblas_sgemm into a preallocated buffer"
    ) { settings in
        let n = 1024
        var rng = SeededGenerator(seed: 1)
        let a = Tensor.uniform([n, n], low: -1, high: 1, rng: &rng).scalars
        let b = Tensor.uniform([n, n], low: -1, high: 1, rng: &rng).scalars
        var c = [Float](repeating: 0, count: n * n)
        let (ms, cpu) = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    settings.measure {
                        BLAS.sgemm(
                            m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                            c: pc.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return BenchResult(msPerStep: ms, gflops: 2 * pow(Double(n), 3) / (ms * 1e6), extra: [("cpu_ms_per_step", cpu)])
    }

    static let mlp = BenchCase(
        name: "mlp-784-256-10-b256",
        summary: "784-256-10 ReLU MLP, batch 256: forward, cross-entropy, backward, SGD step"
    ) { settings in
        var rng = SeededGenerator(seed: 2)
        let model = Sequential(Dense(784, 256, rng: &rng), ReLU(), Dense(256, 10, rng: &rng))
        let batch = 256
        let x = Tensor.uniform([batch, 784], rng: &rng)
        let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
        let (ms, cpu) = trainingStepMilliseconds(model: model, input: x, labels: labels, settings: settings)
        // Nominal count: forward matmuls, and twice that for the backward pass.
        let forward = 2.0 * Double(batch) * Double(784 * 256 + 256 * 10)
        // The step's five products (the input needs no gradient), alone, into preallocated buffers.
        let bound = productsMilliseconds(
            [
                BenchProduct(m: batch, n: 256, k: 784, transposeB: true),  // x·W1ᵀ
                BenchProduct(m: batch, n: 10, k: 256, transposeB: true),  // h·W2ᵀ
                BenchProduct(m: batch, n: 256, k: 10),  // dh = dy·W2
                BenchProduct(m: 10, n: 256, k: batch, transposeA: true),  // dW2 = dyᵀ·h
                BenchProduct(m: 256, n: 784, k: batch, transposeA: true),  // dW1 = dh1ᵀ·x
            ], settings: settings)
        return BenchResult(
            msPerStep: ms, gflops: 3 * forward / (ms * 1e6),
            extra: [("cpu_ms_per_step", cpu), ("gemm_bound_ms", bound), ("gemm_bound_fraction", bound / ms)])
    }

    /// Median milliseconds of running `products` back to back through `BLAS.sgemm` (TensorCore's
    /// product, with its panel split) into preallocated buffers: the least time a step made of
    /// these products can take (its "GEMM bound").
    static func productsMilliseconds(_ products: [BenchProduct], settings: BenchSettings) -> Double {
        var rng = SeededGenerator(seed: 6)
        let operands = products.map { p in
            (
                a: Tensor.uniform([p.m * p.k], low: -1, high: 1, rng: &rng).scalars,
                b: Tensor.uniform([p.k * p.n], low: -1, high: 1, rng: &rng).scalars,
                c: UnsafeMutablePointer<Float>.allocate(capacity: p.m * p.n)
            )
        }
        defer { for o in operands { o.c.deallocate() } }
        return settings.medianMilliseconds {
            for (p, o) in zip(products, operands) {
                o.a.withUnsafeBufferPointer { pa in
                    o.b.withUnsafeBufferPointer { pb in
                        BLAS.sgemm(
                            transposeA: p.transposeA, transposeB: p.transposeB, m: p.m, n: p.n, k: p.k,
                            a: pa.baseAddress!, lda: p.transposeA ? p.m : p.k, b: pb.baseAddress!,
                            ldb: p.transposeB ? p.k : p.n, c: o.c, ldc: p.n)
                    }
                }
            }
        }
    }

    static let cnnLeNet = BenchCase(
        name: "cnn-lenet-b128",
        summary: "LeNet-5 (conv5-6, pool, conv5-16, pool, 120, 84, 10) on 1×28×28, batch 128: forward, backward, SGD step"
    ) { settings in
        var rng = SeededGenerator(seed: 3)
        let features = Architecture.lenet(inputShape: [1, 28, 28], rng: &rng)
        let head = Architecture.classifier(featureSize: features.featureSize, classCount: 10, hidden: 84, rng: &rng)
        let model = Sequential(features.network, head)
        let batch = 128
        let x = Tensor.uniform([batch, 1, 28, 28], rng: &rng)
        let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
        let (ms, cpu) = trainingStepMilliseconds(model: model, input: x, labels: labels, settings: settings)
        // conv1: 6×24×24 outputs of 25 MACs; conv2: 16×8×8 outputs of 150 MACs; dense 256·120 + 120·84 + 84·10.
        let macsPerImage = Double(6 * 24 * 24 * 25 + 16 * 8 * 8 * 150 + 256 * 120 + 120 * 84 + 84 * 10)
        return BenchResult(
            msPerStep: ms, gflops: 3 * 2 * macsPerImage * Double(batch) / (ms * 1e6), extra: [("cpu_ms_per_step", cpu)])
    }

    /// Median time of one full training step: forward in training mode, cross-entropy, backward,
    /// SGD with momentum.
    static func trainingStepMilliseconds(
        model: any Layer, input: Tensor, labels: [Int], settings: BenchSettings
    ) -> (wall: Double, cpu: Double) {
        let optimizer = SGD(learningRate: 0.01, momentum: 0.9)
        let context = ForwardContext(mode: .training, rng: SeededGenerator(seed: 4))
        let parameters = model.parameters.map(\.parameter)
        let x = Variable(input)
        var lastLoss: Float = 0
        let timing = settings.measure {
            let (loss, gradients) = valueWithGradients {
                Loss.crossEntropy(logits: model(x, context: context), labels: labels)
            }
            optimizer.step(parameters, gradients: gradients)
            lastLoss = loss.scalar
        }
        precondition(lastLoss.isFinite, "bench: training loss became \(lastLoss)")
        return timing
    }
}

/// One matrix product of a benchmark's step: C (m×n) = op(A) · op(B) with inner size k.
struct BenchProduct {
    var m: Int
    var n: Int
    var k: Int
    var transposeA = false
    var transposeB = false
}

/// `dakit bench`: fixed performance cases, one JSON object per line.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run fixed performance cases and print one JSON object per line (build with -c release).",
        discussion: "Cases: " + BenchCase.all.map { "\($0.name) — \($0.summary)" }.joined(separator: "; ")
            + ". Compare with Benchmarks/pytorch_reference.py (see Benchmarks/README.md).")

    @Option(name: .customLong("case"), help: "Run only this case (repeatable). Default: all cases.")
    var cases: [String] = []

    @Option(help: "Threads for products and DAKit's kernels (0: every core; OpenBLAS itself runs one per panel).")
    var threads: Int = 0

    @Option(help: "Untimed steps before timing.")
    var warmup: Int = 3

    @Option(help: "Timed steps per case (the median is reported).")
    var iterations: Int = 20

    @Flag(help: "List the cases and exit.")
    var list = false

    func validate() throws {
        guard threads >= 0 else { throw ValidationError("--threads must be ≥ 0, got \(threads)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        guard iterations > 0 else { throw ValidationError("--iterations must be positive, got \(iterations)") }
        let known = Set(BenchCase.all.map(\.name))
        for name in cases where !known.contains(name) {
            throw ValidationError(
                "--case \(name): unknown case; known cases: \(BenchCase.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        if list {
            for c in BenchCase.all { print("\(c.name)\t\(c.summary)") }
            return
        }
        #if DEBUG
            FileHandle.standardError.write(Data("\(CommandLineContext.current.toolName) bench: this is a debug build; build with -c release for meaningful numbers\n".utf8))
        #endif
        setBLASThreadCount(threads)
        // Which kernels and how many threads: numbers from different settings do not compare.
        let core = BLASCore.selection
        let origin =
            core.reason == "dakit"
            ? " (replacing OpenBLAS's generic \(core.loaded); DAKIT_BLAS_CORE=keep keeps it)" : " (\(core.reason))"
        FileHandle.standardError.write(
            Data("\(CommandLineContext.current.toolName) bench: \(threadCount()) threads\(workerPollMicroseconds() > 0 ? " (workers poll \(workerPollMicroseconds()) µs, DAKIT_SPIN_US)" : ""), OpenBLAS kernels \(blasCoreName())\(origin)\n".utf8))
        let settings = BenchSettings(warmup: warmup, iterations: iterations)
        let selected = cases.isEmpty ? BenchCase.all : BenchCase.all.filter { cases.contains($0.name) }
        for benchCase in selected {
            let result = try benchCase.run(settings)
            // Unbuffered, so that each line appears as soon as its case finishes.
            FileHandle.standardOutput.write(Data((result.jsonLine(case: benchCase.name) + "\n").utf8))
        }
    }
}
