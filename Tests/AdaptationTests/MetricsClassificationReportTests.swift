import Adaptation
import Foundation
import TensorCore
import XCTest

final class MetricsClassificationReportTests: XCTestCase {
    func testHandComputedWithAClassNeverPredicted() {
        // Class 2 occurs twice and is never predicted: its F1 is 0 by definition.
        let labels = [0, 0, 1, 1, 2, 2, 0]
        let predictions = [0, 1, 1, 1, 0, 0, 0]
        let r = ClassificationReport(predictions: predictions, labels: labels, classCount: 3)
        XCTAssertEqual(r.confusion, [[2, 1, 0], [0, 2, 0], [2, 0, 0]])
        XCTAssertEqual(r.accuracy, 4.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(r.perClassAccuracy, [2.0 / 3, 1, 0])
        XCTAssertEqual(r.support, [3, 2, 2])
        // F1_0 = 2·2/(2·2 + 2 + 1), F1_1 = 2·2/(2·2 + 1 + 0), F1_2 = 0.
        XCTAssertEqual(r.perClassF1[0], 4.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(r.perClassF1[1], 4.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(r.perClassF1[2], 0)
        XCTAssertEqual(r.macroF1, (4.0 / 7 + 4.0 / 5 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(r.error, 3.0 / 7, accuracy: 1e-12)
    }

    func testAbsentClassIsLeftOutOfMacroF1() {
        // Class 3 is neither a label nor a prediction.
        let r = ClassificationReport(predictions: [0, 1, 1], labels: [0, 1, 2], classCount: 4)
        XCTAssertEqual(r.perClassF1, [1, 2.0 / 3, 0, 0])
        XCTAssertEqual(r.macroF1, (1 + 2.0 / 3 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(r.perClassAccuracy, [1, 1, 0, 0])
        XCTAssertEqual(r.support, [1, 1, 1, 0])
    }

    func testFromLogitsAndCodable() throws {
        let logits = Tensor([[2, 1], [0, 3], [5, -1], [0.5, 0.2]])
        let r = ClassificationReport(logits: logits, labels: [0, 1, 1, 0])
        XCTAssertEqual(r.confusion, [[2, 0], [1, 1]])
        XCTAssertEqual(r.accuracy, 0.75)
        let decoded = try JSONDecoder().decode(ClassificationReport.self, from: JSONEncoder().encode(r))
        XCTAssertEqual(decoded, r)
    }
}
