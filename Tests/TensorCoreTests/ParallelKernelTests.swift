import Foundation
import TensorCore
import XCTest

/// The kernels split across TensorCore's pool give exactly (bit for bit) what they give on one
/// thread, on odd sizes above the parallel threshold, so a recipe and seed give the same numbers
/// on any core count. Sizes are above `ParallelKernels.minimumParallelElements` (checked), so the
/// parallel paths run.
final class ParallelKernelTests: XCTestCase {
    private var rng = SeededGenerator(seed: 7)

    override func tearDown() {
        setThreadCount(0)
        super.tearDown()
    }

    /// `compute` on one thread and on 2, 3 and 5 threads; every result must be identical.
    private func assertSameOnAnyThreadCount(
        _ name: String, file: StaticString = #filePath, line: UInt = #line, _ compute: () -> [Tensor]
    ) {
        setThreadCount(1)
        let serial = compute()
        for threads in [2, 3, 5] {
            setThreadCount(threads)
            let parallel = compute()
            XCTAssertEqual(parallel.count, serial.count, name, file: file, line: line)
            for (k, (p, s)) in zip(parallel, serial).enumerated() {
                XCTAssertEqual(p.shape, s.shape, "\(name) result \(k), \(threads) threads", file: file, line: line)
                // Bit patterns, so that NaN and -0 count too.
                XCTAssertTrue(
                    p.scalars.map(\.bitPattern) == s.scalars.map(\.bitPattern),
                    "\(name) result \(k): \(threads) threads differ from one (max |Δ| \(p.maxAbsDifference(s)))",
                    file: file, line: line)
            }
        }
    }

    func testShapesHereAreAboveTheParallelThreshold() {
        XCTAssertLessThanOrEqual(ParallelKernels.minimumParallelElements, 131 * 1_031)
        XCTAssertLessThanOrEqual(ParallelKernels.minimumParallelElements, 19 * 7 * 33 * 31)
        XCTAssertLessThanOrEqual(ParallelKernels.minimumParallelElements, 27 * 41 * 17 * 18)
    }

    func testPoolRunsEveryChunkOnceAndNestedCallsRunSerially() {
        setThreadCount(3)
        var hits = [Int](repeating: 0, count: 1001)
        hits.withUnsafeMutableBufferPointer { h in
            ParallelKernels.forEachChunk(1001) { c in
                h[c] += 1
                ParallelKernels.forEachChunk(3) { _ in h[c] += 0 }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1001))
        XCTAssertEqual(threadCount(), 3)
    }

    /// Every job needs every thread: each chunk waits until all chunks of its job have started, so
    /// a worker that is not woken (asleep, after no poll or after polling past its time, or while
    /// it is still polling) leaves its chunk untaken and the job times out (and then the pool
    /// waits for that worker for ever: a lost wake-up shows as a hang). Gaps between jobs of
    /// none, a few microseconds and several spin periods exercise both ways of waking.
    func testEveryWorkerTakesPartInJobsAfterPollingAndAfterSleeping() {
        for (threads, poll) in [(2, 0), (3, 0), (2, 200), (3, 200)] as [(Int, UInt64)] {
            setThreadCount(threads, workerPollMicroseconds: poll)
            XCTAssertEqual(workerPollMicroseconds(), poll)
            let condition = NSCondition()
            var started = 0
            var timedOut = 0
            for job in 0..<240 where timedOut == 0 {
                condition.lock()
                started = 0
                condition.unlock()
                ParallelKernels.forEachChunk(threads) { _ in
                    condition.lock()
                    started += 1
                    condition.broadcast()
                    let deadline = Date(timeIntervalSinceNow: 2)
                    while started < threads && condition.wait(until: deadline) {}
                    if started < threads { timedOut += 1 }
                    condition.unlock()
                }
                switch job % 4 {
                case 1: usleep(20)
                case 3: usleep(2_000)  // ten times the 200 µs poll: the workers are asleep
                default: break
                }
            }
            XCTAssertEqual(timedOut, 0, "\(threads) threads, \(poll) µs poll: chunks waited in vain for a worker")
        }
    }

    func testConcurrentCallersFromSeveralThreadsGetCorrectResults() {
        setThreadCount(2)
        let x = Tensor.normal([150_001], rng: &rng)
        let expected = x.map { $0 * 2 + 1 }
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in results[i] = x.map { $0 * 2 + 1 } == expected }
        XCTAssertEqual(Array(results), [Bool](repeating: true, count: 8))
    }

    func testElementwiseAndBroadcastKernels() {
        let a = Tensor.normal([131, 1_031], rng: &rng)
        let b = Tensor.normal([131, 1_031], rng: &rng)
        let row = Tensor.normal([1_031], rng: &rng)
        let image = Tensor.normal([19, 7, 33, 31], rng: &rng)
        let channel = Tensor.normal([1, 7, 1, 1], rng: &rng)
        let column = Tensor.normal([131, 1], rng: &rng)
        assertSameOnAnyThreadCount("element-wise") {
            var sum = a
            sum += b
            return [
                a + b, a * 3, 2 - a, a.relu(), a.exp(), a.sigmoid(), Tensor.maximum(a, b), a + row, row * a,
                image + channel, channel - image, sum, column + row, row - column,
            ]
        }
    }

    func testReductionsKeepTheirOrder() {
        let a = Tensor.normal([131, 1_031], rng: &rng)
        let tall = Tensor.normal([50_021, 3], rng: &rng)
        let image = Tensor.normal([19, 7, 33, 31], rng: &rng)
        let long = Tensor.normal([300_007], rng: &rng)
        assertSameOnAnyThreadCount("reductions") {
            [
                a.sum(axis: 0), a.sum(axis: 1), tall.sum(axis: 0), tall.max(axis: 1), image.sum(axes: [0, 2, 3]),
                a.unbroadcast(to: [1_031]), image.unbroadcast(to: [1, 7, 1, 1]), tall.unbroadcast(to: [3]),
                Tensor(long.sum()), Tensor(a.sum()), a.logSoftmax(axis: 1), tall.logSoftmax(axis: 1),
            ]
        }
    }

    func testFullSumUsesFixedChunksBelowWhichItIsOneRunningTotal() {
        let small = Tensor.normal([ParallelKernels.reductionChunk], rng: &rng)
        var total: Float = 0
        for v in small.scalars { total += v }
        XCTAssertEqual(small.sum().bitPattern, total.bitPattern)
        let large = Tensor.normal([2 * ParallelKernels.reductionChunk + 17], rng: &rng)
        var partials: [Float] = []
        for start in stride(from: 0, to: large.count, by: ParallelKernels.reductionChunk) {
            var t: Float = 0
            for v in large.scalars[start..<min(large.count, start + ParallelKernels.reductionChunk)] { t += v }
            partials.append(t)
        }
        XCTAssertEqual(large.sum().bitPattern, partials.reduce(0, +).bitPattern)
    }

    func testConvolutionPoolingAndTheirGradients() {
        let x = Tensor.normal([41, 3, 33, 35], rng: &rng)
        let w = Tensor.normal([5, 3, 3, 3], rng: &rng)
        let b = Tensor.normal([5], rng: &rng)
        let seedConv = Tensor.normal([41, 5, 17, 18], rng: &rng)
        let lenetInput = Tensor.normal([37, 1, 28, 28], rng: &rng)
        let lenetWeight = Tensor.normal([6, 1, 5, 5], rng: &rng)
        let lenetBias = Tensor.normal([6], rng: &rng)
        let p = Tensor.normal([23, 7, 38, 41], rng: &rng)
        assertSameOnAnyThreadCount("convolution") {
            let input = Variable(x), weight = Variable(w)
            let y = Variable.conv2d(input, weight: weight, stride: 2, padding: 1)
            let g = gradients(of: y, withRespectTo: [input, weight], seed: seedConv)
            return [y.value] + g
        }
        assertSameOnAnyThreadCount("convolution with bias") {
            let input = Variable(x), weight = Variable(w), bias = Variable(b)
            let y = Variable.conv2d(input, weight: weight, bias: bias, stride: 2, padding: 1)
            let g = gradients(of: y, withRespectTo: [input, weight, bias], seed: seedConv)
            return [y.value] + g
        }
        assertSameOnAnyThreadCount("LeNet's first convolution") {
            let input = Variable(lenetInput), weight = Variable(lenetWeight), bias = Variable(lenetBias)
            let y = Variable.conv2d(input, weight: weight, bias: bias)
            let g = gradients(of: y, withRespectTo: [weight, bias], seed: y.value)
            return [y.value] + g
        }
        assertSameOnAnyThreadCount("pooling") {
            let input = Variable(p)
            let maxPooled = input.maxPool2d(kernel: 2)
            let maxGeneral = input.maxPool2d(kernel: 3, stride: 2, padding: 1)
            let avg = input.avgPool2d(kernel: 3, stride: 2, padding: 1)
            let gMax = gradients(of: maxPooled, withRespectTo: [input], seed: maxPooled.value)
            let gGeneral = gradients(of: maxGeneral, withRespectTo: [input], seed: maxGeneral.value)
            let gAvg = gradients(of: avg, withRespectTo: [input], seed: avg.value)
            return [maxPooled.value, maxGeneral.value, avg.value] + gMax + gGeneral + gAvg
        }
    }

    func testMatrixProductsSplitIntoPanelsEqualOneCall() {
        // Shapes of the bench's MLP and LeNet products, and odd ones.
        let shapes: [(m: Int, n: Int, k: Int)] = [
            (256, 256, 784), (256, 10, 256), (6, 73_728, 25), (16, 8_192, 150), (150, 8_192, 16), (333, 129, 517),
            (1_001, 77, 301), (35, 2_003, 999),
        ]
        for (m, n, k) in shapes {
            let a = Tensor.normal([m, k], rng: &rng)
            let b = Tensor.normal([k, n], rng: &rng)
            let at = Tensor.normal([k, m], rng: &rng)
            let bt = Tensor.normal([n, k], rng: &rng)
            assertSameOnAnyThreadCount("matmul \(m)×\(n)×\(k)") {
                [
                    Tensor.matmul(a, b), Tensor.matmul(at, b, transposeA: true), Tensor.matmul(a, bt, transposeB: true),
                    Tensor.matmul(at, bt, transposeA: true, transposeB: true),
                ]
            }
        }
    }
}
