import TensorCore

/// Whether a forward pass trains (dropout active, batch statistics) or evaluates.
public enum Mode: Sendable {
    case training
    case inference
}

/// What a forward pass needs besides its input, passed explicitly: the mode and the random
/// generator that dropout draws from. No global learning phase exists.
public final class ForwardContext {
    public var mode: Mode
    public var rng: SeededGenerator

    public init(mode: Mode, rng: SeededGenerator = SeededGenerator(seed: 0)) {
        self.mode = mode
        self.rng = rng
    }

    public var isTraining: Bool { mode == .training }

    /// An inference context (no randomness is drawn in inference).
    public static func inference() -> ForwardContext { ForwardContext(mode: .inference) }
}

/// A named parameter or buffer, with its path inside the model (`features.0.weight`).
public struct NamedParameter {
    public let path: String
    public let parameter: Parameter
    public init(path: String, parameter: Parameter) {
        self.path = path
        self.parameter = parameter
    }
}

/// A building block of a network.
///
/// Layers are classes: a model and its optimizer share the same parameters. Parameters are
/// listed explicitly by each layer (no reflection), with paths relative to the layer.
public protocol Layer: AnyObject {
    /// Forward pass.
    func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable
    /// Trainable tensors with their local paths (`weight`, `bias`, `0.weight`, …).
    var parameters: [NamedParameter] { get }
    /// State that is saved with the weights but not trained (BatchNorm's running statistics).
    var buffers: [NamedParameter] { get }
    /// One line describing the layer (`Dense(784 → 256)`).
    var summary: String { get }
}

extension Layer {
    public var parameters: [NamedParameter] { [] }
    public var buffers: [NamedParameter] { [] }

    /// Parameters and buffers: everything a checkpoint stores.
    public var state: [NamedParameter] { parameters + buffers }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.parameter.value.count } }

    /// Forward pass on a plain tensor (no graph kept), in inference mode unless told otherwise.
    public func callAsFunction(_ input: Tensor, context: ForwardContext = .inference()) -> Tensor {
        callAsFunction(Variable(input), context: context).value
    }

    /// Freezes (or unfreezes) every parameter of this layer.
    public func setFrozen(_ frozen: Bool) {
        for p in parameters { p.parameter.isFrozen = frozen }
    }
}

/// Prefixes every path with `prefix.`.
func prefixed(_ items: [NamedParameter], _ prefix: String) -> [NamedParameter] {
    items.map { NamedParameter(path: prefix.isEmpty ? $0.path : "\(prefix).\($0.path)", parameter: $0.parameter) }
}

/// Layers applied one after another. Paths are the layer's index: `0.weight`, `2.bias`.
public final class Sequential: Layer {
    public private(set) var layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        layers.reduce(input) { x, layer in layer(x, context: context) }
    }

    public var parameters: [NamedParameter] {
        layers.enumerated().flatMap { prefixed($0.element.parameters, String($0.offset)) }
    }

    public var buffers: [NamedParameter] {
        layers.enumerated().flatMap { prefixed($0.element.buffers, String($0.offset)) }
    }

    public var summary: String { "Sequential(\(layers.map(\.summary).joined(separator: ", ")))" }

    /// Appends a layer.
    public func append(_ layer: any Layer) { layers.append(layer) }
}
