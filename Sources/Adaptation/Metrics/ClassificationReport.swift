import Foundation
import TensorCore

/// Accuracy, macro-F1, per-class accuracy and the confusion matrix of a classifier's predictions.
///
/// Conventions (all stated so that numbers compare across runs):
/// - `confusion[i][j]` counts samples of true class i predicted as class j.
/// - Per-class accuracy of class c is its recall TP_c / (TP_c + FN_c); a class with no labelled
///   sample (`support[c] == 0`) gets 0 there, and `support` tells the two cases apart.
/// - F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c), the harmonic mean of precision and recall written
///   without the 0/0 of an undefined precision: a class that is never predicted (but occurs) has
///   F1 = 0.
/// - Macro-F1 is the unweighted mean of F1_c over the classes that occur in the labels or in the
///   predictions (as scikit-learn does when no label list is given); a class absent from both has
///   no defined F1 and is left out of the mean.
public struct ClassificationReport: Sendable, Codable, Equatable {
    /// Fraction of correct predictions.
    public var accuracy: Double
    /// Unweighted mean of the per-class F1 over the classes present (see the type's notes).
    public var macroF1: Double
    /// Recall of each class (0 where the class has no labelled sample).
    public var perClassAccuracy: [Double]
    /// F1 of each class (0 where a class is absent from both labels and predictions).
    public var perClassF1: [Double]
    /// Number of labelled samples of each class.
    public var support: [Int]
    /// `confusion[true][predicted]`.
    public var confusion: [[Int]]
    /// Number of samples evaluated.
    public var count: Int

    /// - Precondition: as many predictions as labels, at least one, every value in 0..<classCount.
    public init(predictions: [Int], labels: [Int], classCount: Int) {
        precondition(classCount >= 1, "ClassificationReport: classCount \(classCount) must be at least 1")
        precondition(
            predictions.count == labels.count,
            "ClassificationReport: \(predictions.count) predictions for \(labels.count) labels")
        precondition(!labels.isEmpty, "ClassificationReport: no samples to evaluate")
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        for (i, (p, y)) in zip(predictions, labels).enumerated() {
            precondition(y >= 0 && y < classCount, "ClassificationReport: label \(y) at index \(i) is outside 0..<\(classCount)")
            precondition(
                p >= 0 && p < classCount, "ClassificationReport: prediction \(p) at index \(i) is outside 0..<\(classCount)")
            confusion[y][p] += 1
        }
        var correct = 0
        var perClassAccuracy = [Double](repeating: 0, count: classCount)
        var perClassF1 = [Double](repeating: 0, count: classCount)
        var support = [Int](repeating: 0, count: classCount)
        var f1Sum = 0.0
        var present = 0
        for c in 0..<classCount {
            let tp = confusion[c][c]
            let actual = confusion[c].reduce(0, +)
            let predicted = (0..<classCount).reduce(0) { $0 + confusion[$1][c] }
            correct += tp
            support[c] = actual
            if actual > 0 { perClassAccuracy[c] = Double(tp) / Double(actual) }
            let fn = actual - tp, fp = predicted - tp
            if actual > 0 || predicted > 0 {
                perClassF1[c] = Double(2 * tp) / Double(2 * tp + fp + fn)
                f1Sum += perClassF1[c]
                present += 1
            }
        }
        self.accuracy = Double(correct) / Double(labels.count)
        self.macroF1 = f1Sum / Double(present)
        self.perClassAccuracy = perClassAccuracy
        self.perClassF1 = perClassF1
        self.support = support
        self.confusion = confusion
        self.count = labels.count
    }

    /// Report for the arg-max predictions of N×K logits (or probabilities).
    public init(logits: Tensor, labels: [Int]) {
        precondition(logits.rank == 2, "ClassificationReport: logits must be N×K, got shape \(logits.shape)")
        self.init(predictions: logits.argmax(axis: 1), labels: labels, classCount: logits.shape[1])
    }

    /// Error rate 1 − accuracy.
    public var error: Double { 1 - accuracy }
}
