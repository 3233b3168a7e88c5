import Foundation
import TensorCore
import XCTest

/// DAKit replaces OpenBLAS's generic fallback kernels on CPUs that can run better ones, and only
/// then (see `BLASCore`).
final class BLASCoreTests: XCTestCase {
    private let avx512: Set<String> = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    func testPreferredCoreReplacesOnlyTheGenericFallback() {
        XCTAssertEqual(BLASCore.preferredCore(loaded: "Prescott", flags: avx512), "SkylakeX")
        XCTAssertEqual(BLASCore.preferredCore(loaded: "Prescott", flags: avx512.union(["avx512_bf16"])), "Cooperlake")
        XCTAssertEqual(
            BLASCore.preferredCore(loaded: "Prescott", flags: avx512.union(["avx512_bf16"]), hasCooperlake: false), "SkylakeX")
        XCTAssertEqual(BLASCore.preferredCore(loaded: "Prescott", flags: ["sse2", "avx", "avx2", "fma"]), "Haswell")
        // AVX-512 foundation alone (no BW/DQ/VL, e.g. Knights Landing) is not enough for SkylakeX.
        XCTAssertEqual(BLASCore.preferredCore(loaded: "Prescott", flags: ["avx2", "fma", "avx512f"]), "Haswell")
        XCTAssertNil(BLASCore.preferredCore(loaded: "Prescott", flags: ["sse2", "sse3", "avx"]))
        XCTAssertNil(BLASCore.preferredCore(loaded: "Prescott", flags: []))
        // A core OpenBLAS chose on purpose is kept, even where a wider one would run.
        XCTAssertNil(BLASCore.preferredCore(loaded: "Haswell", flags: avx512))
        XCTAssertNil(BLASCore.preferredCore(loaded: "Zen", flags: avx512))
        XCTAssertNil(BLASCore.preferredCore(loaded: "SkylakeX", flags: avx512))
    }

    func testSelectionOnThisMachineIsConsistent() {
        let selection = BLASCore.selection
        switch selection.reason {
        case "dakit":
            // Replaced OpenBLAS's fallback, and told child processes (which then load with it).
            XCTAssertEqual(selection.loaded.lowercased(), "prescott")
            XCTAssertNotEqual(selection.active.lowercased(), "prescott")
            XCTAssertEqual(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]?.lowercased(), selection.active.lowercased())
        case "OPENBLAS_CORETYPE", "DAKIT_BLAS_CORE=keep", "openblas":
            XCTAssertEqual(selection.active, selection.loaded)
        default:
            XCTFail("unknown reason \(selection.reason)")
        }
        // Products work on whatever kernels were chosen.
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(Tensor.matmul(a, b).scalars, [58, 64, 139, 154])
    }
}
