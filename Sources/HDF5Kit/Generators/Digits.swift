import Foundation
import TensorCore

/// Real handwritten 8×8 digits (UCI optical digits, the 1797-image copy scikit-learn bundles;
/// CC BY 4.0) with a chosen shift applied to the target domain.
///
/// The images are split by a seeded permutation of their indices into two disjoint halves, so the
/// domains never share a sample: the first half is the source (80 % training, 20 % validation), the
/// second the target (70 % unlabelled adaptation pool, 30 % test). Samples are N×1×8×8 floats in
/// [0, 1] (pixel counts 0…16 divided by 16). The shift is applied to every target image:
///
/// - `rotation`: rotated counter-clockwise (as displayed, row 0 at the top) by `amount` degrees about
///   the image centre (bilinear, zero outside);
/// - `inversion`: x → 1 − x (`amount` unused);
/// - `noise`: additive Gaussian noise of standard deviation `amount`, clipped to [0, 1];
/// - `blur`: Gaussian blur of standard deviation `amount` pixels (kernel radius ⌈3σ⌉, zero padding);
/// - `scale`: zoomed by factor `amount` about the centre (bilinear; < 1 shrinks).
public enum DigitsGenerator {
    public enum Shift: String, CaseIterable, Sendable {
        case rotation, inversion, noise, blur, scale

        /// A default amount that makes a visible but learnable shift.
        public var defaultAmount: Float {
            switch self {
            case .rotation: return 30
            case .inversion: return 1
            case .noise: return 0.3
            case .blur: return 1
            case .scale: return 0.7
            }
        }
    }

    /// Finds `Datasets/digits8x8.h5`: an explicit path, else `Datasets/digits8x8.h5` under the current
    /// directory, else beside this source file in the repository.
    public static func locateBase(_ explicit: URL? = nil) throws -> URL {
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit.path) else {
                throw HDF5Error(.fileNotFound, file: explicit.path, reason: "the digits base file does not exist")
            }
            return explicit
        }
        let candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Datasets/digits8x8.h5"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Datasets/digits8x8.h5"),
        ]
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        throw HDF5Error(.fileNotFound, file: "digits8x8.h5",
            reason: "cannot find the digits base file (looked in \(candidates.map(\.path).joined(separator: " and "))); pass its path with --base, or run Datasets/make_digits_base.py")
    }

    /// Reads the base images (N×1×8×8 in [0, 1]) and labels.
    public static func loadBase(_ url: URL) throws -> (x: Tensor, y: [Int]) {
        let file = try HDF5File(reading: url)
        let images = try file.dataset("/images")
        let labels = try file.dataset("/labels").readIntegers()
        let shape = images.shape
        guard shape.count == 3, shape[1] == 8, shape[2] == 8, shape[0] == labels.count else {
            throw HDF5Error(.typeMismatch, file: url.path, objectPath: "/images", reason: "expected N×8×8 images with N labels, got \(shape) and \(labels.count)")
        }
        let maxValue = Float(((try? file.root.attribute("max_value"))?.intValue) ?? 16)
        let x = try images.readTensor().reshaped([shape[0], 1, 8, 8]) * (1 / maxValue)
        return (x, labels)
    }

    public static func make(shift: Shift, amount: Float? = nil, base: URL? = nil, seed: UInt64 = 0) throws -> DomainDataset {
        let (x, y) = try loadBase(try locateBase(base))
        let amount = amount ?? shift.defaultAmount
        let root = SeededGenerator(seed: seed)
        var splitRNG = root.fork("split")
        let order = splitRNG.permutation(y.count)
        let half = y.count / 2
        let sourceIndices = Array(order[..<half])
        let targetIndices = Array(order[half...])
        let all = DomainSplit(x: x, y: y)
        let sourceTrainCount = sourceIndices.count * 4 / 5
        let targetPoolCount = targetIndices.count * 7 / 10
        var noiseRNG = root.fork("target-noise")
        func shifted(_ split: DomainSplit) -> DomainSplit {
            DomainSplit(x: apply(shift, amount: amount, to: split.x, rng: &noiseRNG), y: split.y)
        }
        let description: String
        switch shift {
        case .rotation: description = "target digits rotated by \(amount)°"
        case .inversion: description = "target digits inverted (1 − x)"
        case .noise: description = "target digits with additive Gaussian noise, σ = \(amount)"
        case .blur: description = "target digits blurred with a Gaussian of σ = \(amount) px"
        case .scale: description = "target digits scaled by \(amount) about the centre"
        }
        return DomainDataset(
            source: all.subset(Array(sourceIndices[..<sourceTrainCount])),
            target: shifted(all.subset(Array(targetIndices[..<targetPoolCount]))),
            sourceValidation: all.subset(Array(sourceIndices[sourceTrainCount...])),
            targetTest: shifted(all.subset(Array(targetIndices[targetPoolCount...]))),
            classNames: (0..<10).map(String.init),
            shiftDescription: description + " (UCI optical digits 8×8, disjoint halves)")
    }

    /// Applies a shift to N×1×H×W images in [0, 1].
    public static func apply(_ shift: Shift, amount: Float, to images: Tensor, rng: inout SeededGenerator) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 1, "digits: expects N×1×H×W images, got \(images.shape)")
        let (n, h, w) = (images.shape[0], images.shape[2], images.shape[3])
        var out = images.scalars
        switch shift {
        case .inversion:
            for i in out.indices { out[i] = 1 - out[i] }
        case .noise:
            for i in out.indices { out[i] = min(1, max(0, out[i] + amount * rng.nextNormal())) }
        case .rotation, .scale:
            // Inverse mapping: each output pixel samples the input at the pre-image of its centre.
            let angle = shift == .rotation ? amount * Float.pi / 180 : 0
            let zoom = shift == .scale ? amount : 1
            precondition(zoom > 0, "digits: scale factor must be positive, got \(zoom)")
            let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
            let (cy, cx) = (Float(h - 1) / 2, Float(w - 1) / 2)
            for image in 0..<n {
                let base = image * h * w
                for i in 0..<h {
                    for j in 0..<w {
                        let (dy, dx) = (Float(i) - cy, Float(j) - cx)
                        let sx = (c * dx - s * dy) / zoom + cx
                        let sy = (s * dx + c * dy) / zoom + cy
                        out[base + i * w + j] = bilinear(images.scalars, base: base, h: h, w: w, y: sy, x: sx)
                    }
                }
            }
        case .blur:
            let sigma = max(amount, 1e-3)
            let radius = Int((3 * sigma).rounded(.up))
            var kernel = (-radius...radius).map { Foundation.exp(-Float($0 * $0) / (2 * sigma * sigma)) }
            let total = kernel.reduce(0, +)
            kernel = kernel.map { $0 / total }
            var temporary = out
            for image in 0..<n {
                let base = image * h * w
                for i in 0..<h {
                    for j in 0..<w {
                        var sum: Float = 0
                        for k in -radius...radius where j + k >= 0 && j + k < w { sum += kernel[k + radius] * images.scalars[base + i * w + j + k] }
                        temporary[base + i * w + j] = sum
                    }
                }
                for i in 0..<h {
                    for j in 0..<w {
                        var sum: Float = 0
                        for k in -radius...radius where i + k >= 0 && i + k < h { sum += kernel[k + radius] * temporary[base + (i + k) * w + j] }
                        out[base + i * w + j] = sum
                    }
                }
            }
        }
        return Tensor(shape: images.shape, scalars: out)
    }

    static func bilinear(_ pixels: [Float], base: Int, h: Int, w: Int, y: Float, x: Float) -> Float {
        let (y0, x0) = (Int(Foundation.floor(y)), Int(Foundation.floor(x)))
        let (fy, fx) = (y - Float(y0), x - Float(x0))
        func at(_ i: Int, _ j: Int) -> Float { i >= 0 && i < h && j >= 0 && j < w ? pixels[base + i * w + j] : 0 }
        return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
    }
}
