import Foundation
import NN
import TensorCore

/// How to build a feature extractor.
public enum ExtractorSpec: Sendable, Equatable, Codable {
    /// Fully connected ReLU layers (`Architecture.mlp`); Ganin et al.'s moons network is `hidden: [15]`.
    case mlp(hidden: [Int], batchNorm: Bool = false, dropout: Float = 0)
    /// LeNet-5-like convolutional extractor (`Architecture.lenet`) for C×H×W images.
    case lenet(channels1: Int = 6, channels2: Int = 16, featureSize: Int = 120)
}

/// Everything `AdaptationModel.build` needs besides the data shape.
public struct ModelSpec: Sendable, Equatable, Codable {
    public var extractor: ExtractorSpec
    /// Width of an optional bottleneck (Dense + ReLU) between extractor and classifier (DAN, CDAN).
    public var bottleneck: Int?
    /// Width of an optional hidden layer in the classifier head.
    public var classifierHidden: Int?

    public init(extractor: ExtractorSpec, bottleneck: Int? = nil, classifierHidden: Int? = nil) {
        self.extractor = extractor
        self.bottleneck = bottleneck
        self.classifierHidden = classifierHidden
    }

    /// Ganin et al. 2016 §5.1.1: one hidden layer of 15 ReLU units, linear classifier.
    public static let ganinMoons = ModelSpec(extractor: .mlp(hidden: [15]))
}

/// Why a `ModelSpec` cannot be built for some inputs; `field` is the recipe key under `model:`
/// that is at fault (`architecture`, `hidden`, …).
public struct ModelSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "model.\(field): \(message)" }
}

extension ModelSpec {
    /// Widths and parameter count of a model built from a spec.
    public struct Size: Sendable, Equatable {
        public var parameters: Int
        public var extractorSize: Int
        public var featureSize: Int
        public var classCount: Int
    }

    /// Checks, without allocating, that the spec can be built for samples of `inputShape`: the
    /// architecture fits the shape (`lenet` needs C×H×W images large enough for two 5×5
    /// convolutions and pools), every width is in [1, `maxWidth`] and the trainable parameters
    /// number at most `maxParameters`. Throws `ModelSpecError`; returns the sizes.
    public func check(inputShape: [Int], classCount: Int, maxWidth: Int = 1_000_000, maxParameters: Int = 500_000_000) throws -> Size {
        var total = 0
        func add(_ factors: Int...) throws {
            var product = 1
            for f in factors {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                guard !overflow, p <= maxParameters else { product = maxParameters + 1; break }
                product = p
            }
            total = Swift.min(total + product, maxParameters + 1)
            guard total <= maxParameters else {
                throw ModelSpecError(field: "architecture", "the model for inputs of shape \(inputShape) has more than \(maxParameters) parameters")
            }
        }
        func width(_ w: Int, _ field: String) throws {
            guard w >= 1 && w <= maxWidth else { throw ModelSpecError(field: field, "widths must be in [1, \(maxWidth)], got \(w)") }
        }
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 >= 1 && $0 <= maxParameters }), classCount >= 1 else {
            throw ModelSpecError(field: "architecture", "cannot build a model for samples of shape \(inputShape) and \(classCount) classes")
        }
        var input = 1
        for d in inputShape {
            let (p, overflow) = input.multipliedReportingOverflow(by: d)
            input = overflow ? Int.max : p
        }
        let extractorSize: Int
        switch extractor {
        case .mlp(let hidden, let batchNorm, _):
            guard !hidden.isEmpty else { throw ModelSpecError(field: "hidden", "needs at least one layer width") }
            var w = input
            for h in hidden {
                try width(h, "hidden")
                try add(w, h)
                try add(h, batchNorm ? 3 : 1)
                w = h
            }
            extractorSize = w
        case .lenet(let c1, let c2, let size):
            guard inputShape.count == 3 else {
                throw ModelSpecError(field: "architecture", "lenet needs C×H×W image samples, got samples of shape \(inputShape); use mlp")
            }
            try width(c1, "channels")
            try width(c2, "channels")
            try width(size, "features")
            let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
            let padding = Swift.min(h, w) < 16 ? 2 : 0
            var (oh, ow) = ((h + 2 * padding - 4) / 2, (w + 2 * padding - 4) / 2)
            (oh, ow) = ((oh + 2 * padding - 4) / 2, (ow + 2 * padding - 4) / 2)
            guard oh > 0 && ow > 0 else {
                throw ModelSpecError(field: "architecture", "lenet needs images large enough for two 5×5 convolutions and pools, got samples of shape \(inputShape)")
            }
            try add(c, c1, 25)
            try add(c1)
            try add(c1, c2, 25)
            try add(c2)
            try add(c2, oh, ow, size)
            try add(size)
            extractorSize = size
        }
        var featureSize = extractorSize
        if let b = bottleneck {
            try width(b, "bottleneck")
            try add(extractorSize, b)
            try add(b)
            featureSize = b
        }
        if let h = classifierHidden {
            try width(h, "classifier_hidden")
            try add(featureSize, h)
            try add(h)
            try add(h, classCount)
        } else {
            try add(featureSize, classCount)
        }
        try add(classCount)
        return Size(parameters: total, extractorSize: extractorSize, featureSize: featureSize, classCount: classCount)
    }
}

/// A classification network split the way domain adaptation needs it:
/// x → featureExtractor → (bottleneck) → features → classifier → logits.
///
/// Parameter paths: `features.…` (the extractor), `bottleneck.…`, `classifier.…`.
public final class AdaptationModel {
    public let featureExtractor: any Layer
    public let bottleneck: (any Layer)?
    public let classifier: any Layer
    /// Width of the extractor's output.
    public let extractorSize: Int
    /// Width of the classifier's input (the bottleneck's output when there is one).
    public let featureSize: Int
    public let classCount: Int

    public init(
        featureExtractor: any Layer, extractorSize: Int, bottleneck: (any Layer)? = nil, bottleneckSize: Int? = nil,
        classifier: any Layer, classCount: Int
    ) {
        precondition(extractorSize > 0 && classCount > 0, "AdaptationModel: extractor size \(extractorSize) and class count \(classCount) must be positive")
        precondition(
            (bottleneck == nil) == (bottleneckSize == nil),
            "AdaptationModel: give a bottleneck and its size together (got layer \(bottleneck == nil ? "nil" : "set"), size \(bottleneckSize.map(String.init) ?? "nil"))")
        self.featureExtractor = featureExtractor
        self.bottleneck = bottleneck
        self.classifier = classifier
        self.extractorSize = extractorSize
        self.featureSize = bottleneckSize ?? extractorSize
        self.classCount = classCount
    }

    /// `build` after `ModelSpec.check`: a spec that does not fit the inputs throws `ModelSpecError`
    /// instead of stopping the process.
    public static func make(inputShape: [Int], classCount: Int, spec: ModelSpec, rng: inout SeededGenerator) throws -> AdaptationModel {
        _ = try spec.check(inputShape: inputShape, classCount: classCount)
        return build(inputShape: inputShape, classCount: classCount, spec: spec, rng: &rng)
    }

    /// Builds the extractor, optional bottleneck and classifier from `spec`, drawing weights from `rng`.
    /// Stops the process on a spec that does not fit the inputs; `make` throws instead.
    public static func build(inputShape: [Int], classCount: Int, spec: ModelSpec, rng: inout SeededGenerator) -> AdaptationModel {
        let extractor: Architecture.FeatureExtractor
        switch spec.extractor {
        case .mlp(let hidden, let batchNorm, let dropout):
            extractor = Architecture.mlp(inputShape: inputShape, hidden: hidden, batchNorm: batchNorm, dropout: dropout, rng: &rng)
        case .lenet(let c1, let c2, let size):
            extractor = Architecture.lenet(inputShape: inputShape, channels: (c1, c2), featureSize: size, rng: &rng)
        }
        var bottleneck: Sequential?
        if let width = spec.bottleneck {
            precondition(width > 0, "AdaptationModel.build: bottleneck width \(width) must be positive")
            bottleneck = Sequential(Dense(extractor.featureSize, width, rng: &rng), ReLU())
        }
        let featureSize = spec.bottleneck ?? extractor.featureSize
        let classifier = Architecture.classifier(featureSize: featureSize, classCount: classCount, hidden: spec.classifierHidden, rng: &rng)
        return AdaptationModel(
            featureExtractor: extractor.network, extractorSize: extractor.featureSize, bottleneck: bottleneck,
            bottleneckSize: spec.bottleneck, classifier: classifier, classCount: classCount)
    }

    // MARK: Parameters

    private func gather(_ pick: (any Layer) -> [NamedParameter]) -> [NamedParameter] {
        func prefix(_ items: [NamedParameter], _ p: String) -> [NamedParameter] {
            items.map { NamedParameter(path: "\(p).\($0.path)", parameter: $0.parameter) }
        }
        return prefix(pick(featureExtractor), "features") + (bottleneck.map { prefix(pick($0), "bottleneck") } ?? [])
            + prefix(pick(classifier), "classifier")
    }

    /// Trainable parameters with paths `features.…`, `bottleneck.…`, `classifier.…`.
    public var parameters: [NamedParameter] { gather { $0.parameters } }
    /// Non-trained state (BatchNorm running statistics), same path scheme.
    public var buffers: [NamedParameter] { gather { $0.buffers } }
    /// Everything a checkpoint stores.
    public var state: [NamedParameter] { parameters + buffers }

    /// Freezes every parameter whose path starts with one of `prefixes` (`features`, `features.0`).
    /// Returns the paths frozen.
    @discardableResult
    public func freeze(prefixes: [String]) -> [String] {
        var frozen: [String] = []
        for p in parameters where prefixes.contains(where: { pathHasPrefix(p.path, $0) }) {
            p.parameter.isFrozen = true
            frozen.append(p.path)
        }
        return frozen
    }

    // MARK: Forward

    /// Outputs at every layer for one batch.
    public func forward(_ x: Variable, context: ForwardContext) -> DomainOutputs {
        let extracted = featureExtractor(x, context: context)
        let features = bottleneck.map { $0(extracted, context: context) } ?? extracted
        return DomainOutputs(extractor: extracted, features: features, logits: classifier(features, context: context))
    }

    /// The classifier's input for `x`.
    public func features(_ x: Variable, context: ForwardContext) -> Variable { forward(x, context: context).features }

    /// Class logits for `x`.
    public func logits(_ x: Variable, context: ForwardContext) -> Variable { forward(x, context: context).logits }

    /// Applies `f` to inference-mode outputs batch by batch and concatenates the rows.
    private func inBatches(_ x: Tensor, batchSize: Int, _ f: (DomainOutputs) -> Tensor) -> Tensor {
        precondition(batchSize > 0, "AdaptationModel: batch size \(batchSize) must be positive")
        let n = x.shape[0]
        guard n > 0 else { return f(forward(Variable(x), context: .inference())) }
        var parts: [Tensor] = []
        var start = 0
        let context = ForwardContext.inference()
        while start < n {
            let end = Swift.min(start + batchSize, n)
            let rows = start == 0 && end == n ? x : x.slice(axis: 0, start..<end)
            parts.append(f(forward(Variable(rows), context: context)))
            start = end
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
    }

    /// Inference-mode logits (N×K).
    public func logits(_ x: Tensor, batchSize: Int = 512) -> Tensor { inBatches(x, batchSize: batchSize) { $0.logits.value } }

    /// Inference-mode representations at `layer` (for divergences and plots).
    public func representation(_ x: Tensor, layer: FeatureLayer = .features, batchSize: Int = 512) -> Tensor {
        inBatches(x, batchSize: batchSize) { $0[layer].value }
    }

    /// Softmax class probabilities (N×K), inference mode.
    public func probabilities(_ x: Tensor, batchSize: Int = 512) -> Tensor { logits(x, batchSize: batchSize).softmax(axis: 1) }

    /// Predicted classes, inference mode.
    public func predict(_ x: Tensor, batchSize: Int = 512) -> [Int] { logits(x, batchSize: batchSize).argmax(axis: 1) }

    /// One line per part, for logs.
    public var summary: String {
        var lines = ["features: \(featureExtractor.summary)"]
        if let bottleneck { lines.append("bottleneck: \(bottleneck.summary)") }
        lines.append("classifier: \(classifier.summary)")
        return lines.joined(separator: "\n")
    }
}

/// Whether `path` equals `prefix` or continues it at a `.` boundary (`features.0` matches
/// `features` but `featuresX` does not).
public func pathHasPrefix(_ path: String, _ prefix: String) -> Bool {
    prefix.isEmpty || path == prefix || path.hasPrefix(prefix + ".")
}

extension AdaptationModel {
    /// Rows read per chunk when a pass goes over a `BatchSource`: whole inference batches, so the
    /// numbers equal those of one pass over the same rows held in memory.
    static func chunkRows(batchSize: Int) -> Int { batchSize * 32 }

    /// Inference-mode logits (N×K) of the whole target pool, read in chunks (bounded memory for a
    /// streamed pool).
    public func logits(_ pool: TargetPool, batchSize: Int = 512) throws -> Tensor {
        var parts: [Tensor] = []
        try pool.forEachChunk(size: AdaptationModel.chunkRows(batchSize: batchSize)) { _, x in
            parts.append(logits(x, batchSize: batchSize))
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
    }

    /// Softmax class probabilities (N×K) of the whole target pool, read in chunks.
    public func probabilities(_ pool: TargetPool, batchSize: Int = 512) throws -> Tensor {
        try logits(pool, batchSize: batchSize).softmax(axis: 1)
    }

    /// Predicted classes of every row of `source`, read in chunks.
    public func predict(_ source: any BatchSource, batchSize: Int = 512) throws -> [Int] {
        var predictions: [Int] = []
        try source.forEachChunk(size: AdaptationModel.chunkRows(batchSize: batchSize)) { _, x in
            predictions += predict(x, batchSize: batchSize)
        }
        return predictions
    }
}
