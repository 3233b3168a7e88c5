import Foundation
import TensorCore

/// The inter-twinning moons of Ganin et al. 2016 (§5.1.1).
///
/// Two half-circles (the classes) with Gaussian noise; the target domain is the same
/// distribution rotated by `rotationDegrees` about the centre of the data. Every split is drawn
/// independently from a generator forked from `seed`.
public enum MoonsGenerator {
    public static func make(
        samplesPerClass: Int = 150, rotationDegrees: Float = 35, noise: Float = 0.1,
        testSamplesPerClass: Int = 500, seed: UInt64 = 0
    ) -> DomainDataset {
        precondition(samplesPerClass > 0 && testSamplesPerClass >= 0, "moons: sample counts must be positive")
        let root = SeededGenerator(seed: seed)
        func draw(_ purpose: String, perClass: Int, rotation: Float) -> DomainSplit {
            var rng = root.fork(purpose)
            var xs: [Float] = []
            var ys: [Int] = []
            let angle = rotation * Float.pi / 180
            let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
            let (cx, cy): (Float, Float) = (0.5, 0.25)
            for label in 0..<2 {
                for _ in 0..<perClass {
                    let t = rng.uniform(0, Float.pi)
                    var x = label == 0 ? Foundation.cos(t) : 1 - Foundation.cos(t)
                    var y = label == 0 ? Foundation.sin(t) : 0.5 - Foundation.sin(t)
                    x += noise * rng.nextNormal()
                    y += noise * rng.nextNormal()
                    let (dx, dy) = (x - cx, y - cy)
                    xs += [cx + c * dx - s * dy, cy + s * dx + c * dy]
                    ys.append(label)
                }
            }
            // Shuffle so that batches mix the classes.
            let order = rng.permutation(ys.count)
            let split = DomainSplit(x: Tensor(shape: [ys.count, 2], scalars: xs), y: ys)
            return split.subset(order)
        }
        return DomainDataset(
            source: draw("source", perClass: samplesPerClass, rotation: 0),
            target: draw("target", perClass: samplesPerClass, rotation: rotationDegrees),
            sourceValidation: draw("source-validation", perClass: max(testSamplesPerClass, 1), rotation: 0),
            targetTest: draw("target-test", perClass: max(testSamplesPerClass, 1), rotation: rotationDegrees),
            classNames: ["upper moon", "lower moon"],
            shiftDescription: "target rotated by \(rotationDegrees)° about (0.5, 0.25)")
    }
}
