import Foundation
import NN
import TensorCore

/// An L2-regularised logistic regression that tells source (label 0) from target (label 1)
/// samples: the domain classifier of the proxy A-distance and of DEV's importance weights.
///
/// Features are standardised with the training set's per-feature mean and standard deviation
/// (a constant feature is left centred, unscaled). Training is deterministic: weights start at
/// zero and take `iterations` full-batch steps of `NN.Adam` (Kingma & Ba 2015, β = 0.9, 0.999) on
///
///     (1/n) Σ_i [log(1 + exp(z_i)) − y_i z_i] + (l2/2) ‖w‖²,   z = x̂ w + b,
///
/// which is convex, so the result depends on the data only, not on a seed.
///
/// With `hiddenUnits > 0` the classifier is instead a small MLP, z = W₂ relu(W₁ x̂ + b₁) + b₂
/// (He-uniform initialisation drawn from `seed`), trained the same way with Adam's coupled L2
/// weight decay `l2` — a richer classifier for domains that differ non-linearly (e.g. rotated moons).
public struct DomainClassifier: Sendable {
    public struct Options: Sendable, Equatable {
        public var iterations: Int
        public var learningRate: Float
        /// Weight of (1/2)‖w‖² (the bias is not penalised).
        public var l2: Float
        /// 0: logistic regression; otherwise the width of the MLP's one hidden ReLU layer.
        public var hiddenUnits: Int
        /// Initialisation seed of the MLP (logistic regression starts at zero and needs none).
        public var seed: UInt64

        public init(iterations: Int = 300, learningRate: Float = 0.05, l2: Float = 1e-3, hiddenUnits: Int = 0, seed: UInt64 = 0) {
            precondition(hiddenUnits >= 0, "DomainClassifier.Options: hiddenUnits \(hiddenUnits) must not be negative")
            precondition(iterations >= 1, "DomainClassifier.Options: iterations \(iterations) must be at least 1")
            precondition(learningRate > 0, "DomainClassifier.Options: learning rate \(learningRate) must be positive")
            precondition(l2 >= 0, "DomainClassifier.Options: l2 \(l2) must not be negative")
            self.iterations = iterations
            self.learningRate = learningRate
            self.l2 = l2
            self.hiddenUnits = hiddenUnits
            self.seed = seed
        }
    }

    /// Per-feature mean and scale of the training features.
    public let featureMean: Tensor
    public let featureScale: Tensor
    /// Weights (d×1) and bias on the standardised features.
    public let weights: Tensor
    public let bias: Float
    /// The MLP's hidden layer (weight h×d, bias h) when `hiddenUnits > 0`; `weights` (h×1) and
    /// `bias` are then its output layer.
    public let hiddenWeights: Tensor?
    public let hiddenBias: Tensor?

    /// Fits the classifier to `source` (label 0) and `target` (label 1) rows; inputs with more
    /// than two axes are flattened.
    public init(source: Tensor, target: Tensor, options: Options = Options()) {
        let s = DomainClassifier.matrix(source, name: "source")
        let t = DomainClassifier.matrix(target, name: "target")
        precondition(
            s.shape[1] == t.shape[1],
            "DomainClassifier: source features of shape \(source.shape) and target features of shape \(target.shape) differ in width")
        precondition(
            s.shape[0] >= 1 && t.shape[0] >= 1,
            "DomainClassifier: needs samples of both domains, got \(s.shape[0]) source and \(t.shape[0]) target")
        let x = Tensor.concatenate([s, t], axis: 0)
        let n = x.shape[0], d = x.shape[1]
        let y = Tensor(shape: [n, 1], scalars: [Float](repeating: 0, count: s.shape[0]) + [Float](repeating: 1, count: t.shape[0]))

        let mean = x.mean(axis: 0, keepDims: true)
        let std = x.variance(axes: [0], keepDims: true).sqrt()
        let scale = std.map { $0 > 1e-12 ? $0 : 1 }
        let xs = (x - mean) / scale

        featureMean = mean
        featureScale = scale
        if options.hiddenUnits > 0 {
            var rng = SeededGenerator(seed: options.seed).fork("domainClassifier.init")
            let hidden = Dense(d, options.hiddenUnits, rng: &rng)
            let output = Dense(options.hiddenUnits, 1, rng: &rng)
            let model = Sequential(hidden, ReLU(), output)
            let optimizer = Adam(learningRate: options.learningRate, weightDecay: options.l2)
            let input = Variable(xs)
            let context = ForwardContext(mode: .training, rng: rng)
            for _ in 0..<options.iterations {
                let (_, gradients) = valueWithGradients {
                    Loss.binaryCrossEntropy(logits: model(input, context: context), targets: y)
                }
                optimizer.step(model.parameters.map(\.parameter), gradients: gradients)
            }
            hiddenWeights = hidden.weight.value
            hiddenBias = hidden.bias!.value
            weights = output.weight.value.transposed()
            bias = output.bias!.value.scalars[0]
            return
        }
        hiddenWeights = nil
        hiddenBias = nil
        // The gradient of the convex loss is written out (no graph needed); NN's Adam applies it.
        let w = Parameter(Tensor.zeros([d, 1]))
        let b = Parameter(Tensor.zeros([1]))
        let optimizer = Adam(learningRate: options.learningRate)
        for _ in 1...options.iterations {
            let z = Tensor.matmul(xs, w.value) + b.value.scalars[0]
            let residual = (z.sigmoid() - y) / Float(n)  // ∂loss/∂z
            var gradients = Gradients()
            gradients[w] = Tensor.matmul(xs, residual, transposeA: true) + w.value * options.l2
            gradients[b] = Tensor([residual.sum()])
            optimizer.step([w, b], gradients: gradients)
        }
        weights = w.value
        bias = b.value.scalars[0]
    }

    /// Log-odds log p(target | x) / p(source | x) of each row.
    public func logits(_ x: Tensor) -> [Float] {
        let m = DomainClassifier.matrix(x, name: "input")
        precondition(
            m.shape[1] == featureMean.shape[1],
            "DomainClassifier: input of shape \(x.shape) has \(m.shape[1]) features, the classifier \(featureMean.shape[1])")
        var h = (m - featureMean) / featureScale
        if let hiddenWeights, let hiddenBias {
            h = (Tensor.matmul(h, hiddenWeights, transposeB: true) + hiddenBias).relu()
        }
        return (Tensor.matmul(h, weights) + bias).scalars
    }

    /// p(target | x) of each row.
    public func targetProbabilities(_ x: Tensor) -> [Float] {
        logits(x).map { 1 / (1 + Foundation.exp(-$0)) }
    }

    /// Fraction of rows misclassified, counting a row as target when p(target | x) ≥ 1/2 (log-odds ≥ 0).
    public func error(source: Tensor, target: Tensor) -> Double {
        let wrongSource = logits(source).filter { $0 >= 0 }.count
        let wrongTarget = logits(target).filter { $0 < 0 }.count
        return Double(wrongSource + wrongTarget) / Double(source.shape[0] + target.shape[0])
    }

    static func matrix(_ x: Tensor, name: String) -> Tensor {
        precondition(x.rank >= 2, "DomainClassifier: \(name) features must be N×F (or N×C×H×W), got shape \(x.shape)")
        return x.rank == 2 ? x : x.reshaped([x.shape[0], -1])
    }
}
