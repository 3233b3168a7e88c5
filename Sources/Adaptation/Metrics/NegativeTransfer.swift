import Foundation

/// Whether adapting from the source helped or hurt on the target, and what it cost on the source.
///
/// - Negative-transfer gap (Wang et al., CVPR 2019, "Characterizing and Avoiding Negative
///   Transfer", Definition 2): NTG = ε_T(A(S, T)) − ε_T(A(∅, T)), the target error of the learner
///   trained with the source minus the target error of the same learner trained without it (the
///   target-only learner). NTG > 0 means negative transfer. Errors are 1 − accuracy.
/// - Gain over source-only: acc_T(adapted) − acc_T(source-only), the usual question of a domain
///   adaptation paper. With no target labels A(∅, T) is weak, so both are reported.
/// - Forgetting: acc_S(before adaptation) − acc_S(after), the drop in source accuracy (> 0 means
///   the source task got worse).
///
/// All inputs are accuracies in [0, 1] on the same held-out sets.
public struct NegativeTransfer: Sendable, Codable, Equatable {
    /// ε_T(A(S, T)) − ε_T(A(∅, T)); nil without a target-only result.
    public var negativeTransferGap: Double?
    /// acc_T(adapted) − acc_T(source-only); nil without a source-only result.
    public var gainOverSourceOnly: Double?
    /// acc_S(before) − acc_S(after); nil without both source accuracies.
    public var forgetting: Double?

    public init(
        adaptedTargetAccuracy: Double, targetOnlyTargetAccuracy: Double? = nil, sourceOnlyTargetAccuracy: Double? = nil,
        sourceAccuracyBefore: Double? = nil, sourceAccuracyAfter: Double? = nil
    ) {
        negativeTransferGap = targetOnlyTargetAccuracy.map {
            NegativeTransfer.gap(transferTargetError: 1 - adaptedTargetAccuracy, targetOnlyTargetError: 1 - $0)
        }
        gainOverSourceOnly = sourceOnlyTargetAccuracy.map {
            NegativeTransfer.gain(adaptedTargetAccuracy: adaptedTargetAccuracy, sourceOnlyTargetAccuracy: $0)
        }
        if let before = sourceAccuracyBefore, let after = sourceAccuracyAfter {
            forgetting = NegativeTransfer.forgetting(sourceAccuracyBefore: before, sourceAccuracyAfter: after)
        }
    }

    /// NTG = ε_T(with transfer) − ε_T(target-only).
    public static func gap(transferTargetError: Double, targetOnlyTargetError: Double) -> Double {
        check(transferTargetError, "transferTargetError")
        check(targetOnlyTargetError, "targetOnlyTargetError")
        return transferTargetError - targetOnlyTargetError
    }

    /// acc_T(adapted) − acc_T(source-only).
    public static func gain(adaptedTargetAccuracy: Double, sourceOnlyTargetAccuracy: Double) -> Double {
        check(adaptedTargetAccuracy, "adaptedTargetAccuracy")
        check(sourceOnlyTargetAccuracy, "sourceOnlyTargetAccuracy")
        return adaptedTargetAccuracy - sourceOnlyTargetAccuracy
    }

    /// acc_S(before) − acc_S(after).
    public static func forgetting(sourceAccuracyBefore: Double, sourceAccuracyAfter: Double) -> Double {
        check(sourceAccuracyBefore, "sourceAccuracyBefore")
        check(sourceAccuracyAfter, "sourceAccuracyAfter")
        return sourceAccuracyBefore - sourceAccuracyAfter
    }

    private static func check(_ value: Double, _ name: String) {
        precondition(value >= 0 && value <= 1, "NegativeTransfer: \(name) = \(value) is not a rate in [0, 1]")
    }
}
