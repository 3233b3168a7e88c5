import XCTest

final class HDF5KitPlaceholderTests: XCTestCase {
    func testModuleLoads() {}
}
