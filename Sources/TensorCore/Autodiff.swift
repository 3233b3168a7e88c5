/// A trainable tensor owned by a layer or a strategy module.
///
/// Parameters are reference types so that a model and its optimizer can refer to the same weights;
/// gradients are never stored on them — `valueWithGradients` returns them.
public final class Parameter: @unchecked Sendable {
    /// The current weights.
    public var value: Tensor
    /// A frozen parameter takes part in the forward pass but receives no gradient.
    public var isFrozen: Bool

    public init(_ value: Tensor, isFrozen: Bool = false) {
        self.value = value
        self.isFrozen = isFrozen
    }

    public var shape: [Int] { value.shape }
}

/// A node of the reverse-mode autodiff graph: a value and how to send a gradient back to the
/// variables it was computed from.
///
/// The graph is recorded at run time as operations are applied (a tape that lives in the nodes
/// themselves); nothing global is kept, so separate graphs can be built independently.
public final class Variable {
    /// The forward value.
    public let value: Tensor
    /// Name of the operation that produced this value (used in error messages).
    public let operation: String
    /// Whether any gradient flows into this node.
    public let requiresGradient: Bool
    /// The parameter this leaf reads, if any.
    public let parameter: Parameter?
    let inputs: [Variable]
    /// Given the gradient of the final output with respect to this node, the gradient with
    /// respect to each input (nil where an input needs none).
    let pullback: ((Tensor) -> [Tensor?])?

    /// A constant: no gradient flows into it.
    public init(_ value: Tensor) {
        self.value = value
        operation = "constant"
        requiresGradient = false
        parameter = nil
        inputs = []
        pullback = nil
    }

    /// A leaf that gradients are taken with respect to (e.g. an input in a gradient check).
    public init(_ value: Tensor, requiresGradient: Bool) {
        self.value = value
        operation = "leaf"
        self.requiresGradient = requiresGradient
        parameter = nil
        inputs = []
        pullback = nil
    }

    /// A leaf reading a parameter's current value; frozen parameters receive no gradient.
    public init(_ parameter: Parameter) {
        value = parameter.value
        operation = "parameter"
        requiresGradient = !parameter.isFrozen
        self.parameter = parameter
        inputs = []
        pullback = nil
    }

    /// An interior node. Use this to add a primitive: give its value, its inputs and its pullback.
    public init(value: Tensor, operation: String, inputs: [Variable], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.operation = operation
        self.inputs = inputs
        let needs = inputs.contains { $0.requiresGradient }
        requiresGradient = needs
        self.pullback = needs ? pullback : nil
        parameter = nil
    }

    public var shape: [Int] { value.shape }

    /// The same value cut off from the graph.
    public func detached() -> Variable { Variable(value) }
}

/// Gradients of a scalar with respect to parameters, keyed by parameter identity.
public struct Gradients {
    private var storage: [ObjectIdentifier: Tensor] = [:]
    public init() {}

    public subscript(parameter: Parameter) -> Tensor? {
        get { storage[ObjectIdentifier(parameter)] }
        set { storage[ObjectIdentifier(parameter)] = newValue }
    }

    /// Number of parameters that received a gradient.
    public var count: Int { storage.count }

    /// Adds another set of gradients into this one.
    public mutating func add(_ other: Gradients) {
        for (key, grad) in other.storage {
            if var existing = storage[key] {
                existing += grad
                storage[key] = existing
            } else {
                storage[key] = grad
            }
        }
    }

    /// Multiplies every gradient by `factor`.
    public mutating func scale(by factor: Float) {
        for key in storage.keys { storage[key] = storage[key]! * factor }
    }

    /// Global L2 norm across all gradients.
    public var norm: Float {
        var total: Float = 0
        for grad in storage.values { for v in grad.scalars { total += v * v } }
        return total.squareRoot()
    }

    fileprivate mutating func accumulate(_ grad: Tensor, for parameter: Parameter) {
        let key = ObjectIdentifier(parameter)
        if var existing = storage[key] {
            existing += grad
            storage[key] = existing
        } else {
            storage[key] = grad
        }
    }
}

/// Nodes reachable from `output` that need a gradient, in an order where every node comes after
/// all of its inputs. Iterative, so deep graphs cannot overflow the stack.
private func topologicalOrder(from output: Variable) -> [Variable] {
    var order: [Variable] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(Variable, Int)] = [(output, 0)]
    visited.insert(ObjectIdentifier(output))
    while let (node, next) = stack.popLast() {
        if next < node.inputs.count {
            stack.append((node, next + 1))
            let input = node.inputs[next]
            if input.requiresGradient && visited.insert(ObjectIdentifier(input)).inserted {
                stack.append((input, 0))
            }
        } else {
            order.append(node)
        }
    }
    return order
}

/// Runs the backward pass from `output`, seeded with `seed` (ones of the output's shape when nil),
/// and calls `visit` with every node's fully accumulated gradient.
private func backpropagate(from output: Variable, seed: Tensor?, visit: (Variable, Tensor) -> Void) {
    guard output.requiresGradient else { return }
    let order = topologicalOrder(from: output)
    var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(output): seed ?? Tensor.ones(output.shape)]
    for node in order.reversed() {
        guard let grad = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
        visit(node, grad)
        guard let pullback = node.pullback else { continue }
        let inputGrads = pullback(grad)
        for (input, inputGrad) in zip(node.inputs, inputGrads) {
            guard input.requiresGradient, let g = inputGrad else { continue }
            precondition(
                g.shape == input.shape,
                "backward of \(node.operation): gradient of shape \(g.shape) for an input of shape \(input.shape)")
            let key = ObjectIdentifier(input)
            if var existing = grads[key] {
                existing += g
                grads[key] = existing
            } else {
                grads[key] = g
            }
        }
    }
}

/// Evaluates `f`, which builds a graph from parameters and returns a scalar (or any tensor, whose
/// elements are summed), and returns its value with the gradient for every non-frozen parameter
/// that the graph read. A parameter read several times (e.g. source and target passes through the
/// same layer) gets the sum of its gradients.
public func valueWithGradients(_ f: () throws -> Variable) rethrows -> (value: Tensor, gradients: Gradients) {
    let output = try f()
    var gradients = Gradients()
    backpropagate(from: output, seed: nil) { node, grad in
        if let parameter = node.parameter { gradients.accumulate(grad, for: parameter) }
    }
    return (output.value, gradients)
}

/// Gradients of `output` (summed over its elements, or weighted by `seed`) with respect to each of
/// `variables`; zeros for a variable the output does not depend on.
public func gradients(of output: Variable, withRespectTo variables: [Variable], seed: Tensor? = nil) -> [Tensor] {
    var found: [ObjectIdentifier: Tensor] = [:]
    let wanted = Set(variables.map { ObjectIdentifier($0) })
    backpropagate(from: output, seed: seed) { node, grad in
        if wanted.contains(ObjectIdentifier(node)) { found[ObjectIdentifier(node)] = grad }
    }
    return variables.map { found[ObjectIdentifier($0)] ?? Tensor.zeros($0.shape) }
}
