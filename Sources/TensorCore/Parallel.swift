import CBLAS
import Foundation

/// The one thread pool of TensorCore: DAKit's kernels and the matrix products share it.
///
/// Why one pool, and why OpenBLAS runs on one thread: OpenBLAS (pthread build) starts its own
/// workers when the library loads and, between calls, keeps each one spinning on `sched_yield`
/// for about 2^28 cycles before it sleeps. A spinning thread never blocks, so Linux never
/// re-places it on wake-up: whichever core the scheduler put it on at start-up it keeps. When
/// that is the caller's core (common on a machine shared with other work), both threads take
/// turns on one core and a step runs at one-core speed with CPU time equal to wall time; when it
/// is the other core, the GEMMs use both cores but the worker spins through every serial loop
/// between them (CPU time twice wall time). Which of the two a process gets was decided once,
/// at random, per run. So OpenBLAS is kept at one thread, and TensorCore splits large products
/// into panels itself and runs them, like its own loops, on `threadCount − 1` workers plus the
/// calling thread. Idle workers block on a condition variable (see `KernelPool`): a woken worker
/// is placed on an idle core if there is one.
///
/// Results do not depend on the thread count: element-wise kernels write each element once,
/// reductions use a chunking fixed by the tensor's size (`ParallelKernels.reductionChunk`) and
/// combine the chunks in order, and a product is split into panels chosen by its shape alone
/// (`Tensor.productPanels`); ParallelKernelTests checks all of it bit for bit.
public enum ParallelKernels {
    /// Element counts below this run serially. A parallel region costs a futex wake-up and a wait
    /// on each side (measured: at 2^15 the MLP step spent 40 % of its CPU time in the kernel), which
    /// a loop over fewer elements does not repay.
    public static let minimumParallelElements = 1 << 17
    /// Elements per chunk handed to a thread by element-wise kernels.
    public static let elementChunk = 1 << 15
    /// Elements per partial sum of a full reduction (fixed, so sums do not depend on the thread
    /// count; tensors up to this size are summed in one running total, as before).
    public static let reductionChunk = 1 << 16
    /// The fewest multiply-adds of one panel of a split product (see `Tensor.productPanels`).
    public static let minimumPanelMultiplyAdds = 1 << 23

    /// The threads DAKit's kernels and products use (the caller included).
    public static var threadCount: Int { KernelPool.current.threadCount }

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, spread over the pool's threads; returns
    /// when all are done. Runs serially with one thread, for a single chunk, or when called from
    /// inside another parallel region. `body` must write disjoint memory for different chunks.
    @inlinable
    public static func forEachChunk(_ chunks: Int, _ body: (Int) -> Void) {
        if chunks <= 0 { return }
        if chunks == 1 {
            body(0)
            return
        }
        runChunks(chunks, body)
    }

    @usableFromInline
    static func runChunks(_ chunks: Int, _ body: (Int) -> Void) {
        KernelPool.current.run(chunks, body)
    }

    /// Calls `body(range)` over `0..<count` items of `elementsPerItem` elements each, in ranges of
    /// about `elementChunk` elements, in parallel when all items together reach
    /// `minimumParallelElements`. `body` must write disjoint memory for different items.
    @inlinable
    public static func forEachRange(_ count: Int, elementsPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        if count < 2 || count * elementsPerItem < minimumParallelElements {
            body(0..<count)
            return
        }
        let grain = Swift.max(1, elementChunk / Swift.max(1, elementsPerItem))
        let chunks = (count + grain - 1) / grain
        forEachChunk(chunks) { c in body(c * grain..<Swift.min(count, (c + 1) * grain)) }
    }

    /// The number of threads the machine lets this process use.
    public static var availableCores: Int { Swift.max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

/// Sets the threads DAKit uses for its kernels and matrix products (0: every available core), and
/// how long an idle worker polls for the next job before it sleeps (nil: `DAKIT_SPIN_US`, else 0;
/// see `KernelPool`). OpenBLAS itself stays at one thread (see `ParallelKernels`).
public func setThreadCount(_ count: Int, workerPollMicroseconds: UInt64? = nil) {
    precondition(count >= 0, "setThreadCount: \(count) is negative")
    precondition(
        (workerPollMicroseconds ?? 0) <= 100_000, "setThreadCount: a poll of \(workerPollMicroseconds ?? 0) µs is above 100 000")
    KernelPool.replace(
        threadCount: count == 0 ? ParallelKernels.availableCores : count,
        spinMicroseconds: workerPollMicroseconds ?? KernelPool.defaultSpinMicroseconds)
}

/// How long an idle worker of the current pool polls for the next job before it sleeps, in µs.
public func workerPollMicroseconds() -> UInt64 { KernelPool.current.spinMicroseconds }

/// One line for each of TensorCore's environment variables that is set to a value it ignores
/// (`DAKIT_SPIN_US`, `DAKIT_BLAS_CORE`), for a command-line tool to print as a warning.
public func environmentWarnings(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
    var warnings: [String] = []
    if let text = environment["DAKIT_SPIN_US"], KernelPool.spinMicroseconds(from: text) == nil {
        warnings.append("DAKIT_SPIN_US=\(text) is not a whole number of microseconds from 0 to 100000; it is ignored (idle workers do not poll)")
    }
    if let text = environment["DAKIT_BLAS_CORE"], text.lowercased() != "keep" {
        warnings.append(
            "DAKIT_BLAS_CORE=\(text) is ignored: its one value is keep (keep OpenBLAS's own kernels); to choose kernels set OPENBLAS_CORETYPE")
    }
    return warnings
}

/// The threads DAKit's kernels and products use.
public func threadCount() -> Int { ParallelKernels.threadCount }

/// Workers that sleep on a condition variable between jobs, or first poll for the next one for
/// `spinMicroseconds` (`DAKIT_SPIN_US`; default 0, no poll); one job at a time. The hot path takes
/// no lock: a job is published by bumping an atomic generation, chunks are claimed with an atomic
/// counter, and the caller waits for the workers' last chunks by polling (then yielding); a
/// sleeping worker is signalled only when one is asleep.
///
/// Why no poll by default: a poll saves each parallel region the futex wake-up of its workers
/// (about 8 a step on the MLP b256 case, 9 % of its CPU time in the kernel's wake-up paths on this
/// project's KVM machine), but measured on that machine a 200 µs poll made two-thread steps about
/// 8 % faster when the machine was idle and 3–41 % slower when another process kept one core busy: a
/// polling worker keeps the core it is on, busy or not, instead of being placed on a free one when
/// woken (Benchmarks/README.md, "Issue 13, third round"). On a machine with cores to spare it can
/// pay: `DAKIT_SPIN_US=200`.
final class KernelPool: @unchecked Sendable {
    let threadCount: Int
    /// How long an idle worker polls for the next job before it sleeps.
    let spinMicroseconds: UInt64
    /// The environment's `DAKIT_SPIN_US` (0 to 100 000 µs), else 0 (a worker sleeps at once, like
    /// OpenMP's passive policy).
    static let defaultSpinMicroseconds: UInt64 = {
        ProcessInfo.processInfo.environment["DAKIT_SPIN_US"].flatMap(spinMicroseconds(from:)) ?? 0
    }()

    /// A `DAKIT_SPIN_US` value: a whole number of microseconds from 0 to 100 000, else nil.
    static func spinMicroseconds(from text: String) -> UInt64? {
        guard let value = UInt64(text), value <= 100_000 else { return nil }
        return value
    }

    /// Shared counters, each on its own cache line: the job's generation (bumped to publish a job),
    /// the next chunk to hand out, the workers still inside the current job, and the workers asleep.
    private let counters: UnsafeMutablePointer<Int>
    private var generation: UnsafeMutablePointer<Int> { counters }
    private var nextChunk: UnsafeMutablePointer<Int> { counters + 8 }
    private var remaining: UnsafeMutablePointer<Int> { counters + 16 }
    private var sleeping: UnsafeMutablePointer<Int> { counters + 24 }

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    /// Held by the thread that dispatches a job; a second dispatcher (a nested call, or another
    /// thread) finds it taken and runs its loop serially.
    private var dispatch = pthread_mutex_t()
    /// Written by the dispatcher only while no worker is inside a job; read by workers after they
    /// see the generation change (the atomics order both).
    @exclusivity(unchecked) private var job: ((Int) -> Void)?
    @exclusivity(unchecked) private var chunkCount = 0
    @exclusivity(unchecked) private var stopping = false

    private nonisolated(unsafe) static var shared: KernelPool?
    private nonisolated(unsafe) static var sharedLock = pthread_mutex_t()
    private static let lockReady: Bool = {
        pthread_mutex_init(&sharedLock, nil)
        return true
    }()

    static var current: KernelPool {
        _ = lockReady
        pthread_mutex_lock(&sharedLock)
        defer { pthread_mutex_unlock(&sharedLock) }
        if let pool = shared { return pool }
        let pool = KernelPool(threadCount: ParallelKernels.availableCores, spinMicroseconds: defaultSpinMicroseconds)
        shared = pool
        return pool
    }

    static func replace(threadCount: Int, spinMicroseconds: UInt64) {
        _ = lockReady
        pthread_mutex_lock(&sharedLock)
        let old = shared
        shared = KernelPool(threadCount: threadCount, spinMicroseconds: spinMicroseconds)
        pthread_mutex_unlock(&sharedLock)
        old?.stop()
    }

    private init(threadCount: Int, spinMicroseconds: UInt64) {
        self.threadCount = Swift.max(1, threadCount)
        self.spinMicroseconds = spinMicroseconds
        counters = .allocate(capacity: 32)
        counters.initialize(repeating: 0, count: 32)
        pthread_mutex_init(&mutex, nil)
        pthread_mutex_init(&dispatch, nil)
        pthread_cond_init(&wake, nil)
        // OpenBLAS's kernels are settled before any of its calls (see BLASCore).
        BLASCore.ensureSelected()
        // One thread for OpenBLAS: the products are split by TensorCore (see ParallelKernels).
        openblas_set_num_threads(1)
        KernelPool.stopOpenBLASWorkers()
        for _ in 1..<self.threadCount {
            // The worker holds the pool until it exits (a replaced pool goes when its workers do).
            let thread = Thread { self.workerLoop() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Ends the workers OpenBLAS started when it loaded. With one thread OpenBLAS never hands them
    /// work, but each spins on `sched_yield` for about 2^28 cycles (0.1 s here) before it sleeps:
    /// the first tenth of a second of every process (the whole of a short benchmark case) ran
    /// beside a spinning thread. `blas_thread_shutdown_` is OpenBLAS's own (its fork handler uses
    /// it; a later multi-threaded call would start them again); looked up by name so that another
    /// BLAS without it is left alone.
    private static func stopOpenBLASWorkers() {
        typealias Shutdown = @convention(c) () -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") else { return }
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
    }

    /// Runs when the last worker of a replaced pool has exited (each holds the pool until then).
    deinit { counters.deallocate() }

    /// Lets the workers exit once idle (a replaced pool).
    private func stop() {
        pthread_mutex_lock(&dispatch)
        pthread_mutex_lock(&mutex)
        stopping = true
        dakit_atomic_fetch_add(generation, 1)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        pthread_mutex_unlock(&dispatch)
    }

    private static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Waits until the generation differs from `seen`: polls for `spinMicroseconds`, then sleeps.
    private func awaitJob(after seen: Int) {
        var polls = 0
        var deadline: UInt64 = 0
        let spin = spinMicroseconds
        while dakit_atomic_load(generation) == seen {
            if spin > 0 {
                dakit_spin_pause()
                polls += 1
                if polls & 255 != 0 { continue }
            }
            let now = KernelPool.nanoseconds()
            if deadline == 0 && spin > 0 {
                deadline = now + spin * 1000
            } else if now >= deadline {
                // Announce the sleep before the last look at the generation; the dispatcher bumps
                // the generation before it looks at `sleeping`, so one of the two sees the other.
                pthread_mutex_lock(&mutex)
                dakit_atomic_fetch_add(sleeping, 1)
                while dakit_atomic_load(generation) == seen { pthread_cond_wait(&wake, &mutex) }
                dakit_atomic_fetch_add(sleeping, -1)
                pthread_mutex_unlock(&mutex)
                return
            }
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            awaitJob(after: seen)
            seen = dakit_atomic_load(generation)
            if stopping { return }
            runChunks()
            // Last: after this the dispatcher may end the job and release its closure.
            dakit_atomic_fetch_add(remaining, -1)
        }
    }

    /// Takes chunks until none is left. Its copy of the closure is released when it returns.
    private func runChunks() {
        guard let body = job else { return }
        let count = chunkCount
        while true {
            let chunk = dakit_atomic_fetch_add(nextChunk, 1)
            guard chunk < count else { return }
            body(chunk)
        }
    }

    func run(_ chunks: Int, _ body: (Int) -> Void) {
        if threadCount == 1 || pthread_mutex_trylock(&dispatch) != 0 {
            for c in 0..<chunks { body(c) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            chunkCount = chunks
            dakit_atomic_store(nextChunk, 0)
            dakit_atomic_store(remaining, threadCount - 1)
            dakit_atomic_fetch_add(generation, 1)
            if dakit_atomic_load(sleeping) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            runChunks()
            // The workers finish their last chunks; a worker that was asleep takes a wake-up first.
            var polls = 0
            while dakit_atomic_load(remaining) > 0 {
                polls += 1
                if polls < 4096 { dakit_spin_pause() } else { sched_yield() }
            }
            job = nil
        }
        pthread_mutex_unlock(&dispatch)
    }
}
