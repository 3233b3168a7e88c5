import XCTest

final class AdaptationPlaceholderTests: XCTestCase {
    func testModuleLoads() {}
}
