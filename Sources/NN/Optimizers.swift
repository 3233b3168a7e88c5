import Foundation
import TensorCore

/// Parameters that share optimisation settings: the usual case is a pretrained feature extractor
/// at 1× and a new head at 10× the base learning rate.
public struct ParameterGroup {
    public var name: String
    public var parameters: [Parameter]
    public var learningRateMultiplier: Float

    public init(name: String, parameters: [Parameter], learningRateMultiplier: Float = 1) {
        precondition(learningRateMultiplier >= 0, "ParameterGroup \(name): learning-rate multiplier \(learningRateMultiplier) is negative")
        self.name = name
        self.parameters = parameters
        self.learningRateMultiplier = learningRateMultiplier
    }
}

/// An optimizer updates parameters in place from their gradients. State (momentum, moments) is
/// kept per parameter. Frozen parameters and parameters without a gradient are left alone.
public protocol Optimizer: AnyObject {
    /// The base learning rate; a schedule sets it before each step.
    var learningRate: Float { get set }
    /// One update of every parameter in `groups`.
    func step(_ groups: [ParameterGroup], gradients: Gradients)
    /// The per-parameter state (momentum, moments, step counts) of the parameters in `parameters`,
    /// keyed `<parameter path>.<slot>` (`features.0.weight.velocity`). Parameters without state
    /// (never stepped, or SGD without momentum) have no entry. Saving this beside the weights and
    /// importing it into a fresh optimizer makes the next step identical to an uninterrupted run.
    func exportState(_ parameters: [NamedParameter]) -> [String: Tensor]
    /// Replaces the state of the parameters in `parameters` by `state` (as `exportState` wrote it).
    /// Throws `OptimizerStateError` for a key that names no parameter or slot, or a shape that
    /// does not fit, before changing anything.
    func importState(_ state: [String: Tensor], parameters: [NamedParameter]) throws
}

extension Optimizer {
    public func step(_ parameters: [Parameter], gradients: Gradients) {
        step([ParameterGroup(name: "all", parameters: parameters)], gradients: gradients)
    }

    /// Optimizers without state export nothing.
    public func exportState(_ parameters: [NamedParameter]) -> [String: Tensor] { [:] }

    /// Optimizers without state accept only an empty state.
    public func importState(_ state: [String: Tensor], parameters: [NamedParameter]) throws {
        if let key = state.keys.sorted().first {
            throw OptimizerStateError(key: key, reason: "\(type(of: self)) keeps no per-parameter state")
        }
    }
}

/// Optimizer state that does not fit the optimizer or its parameters.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "optimizer state '\(key)': \(reason)" }
}

/// Splits `<path>.<slot>` keys against `parameters` and checks slots and element counts.
/// Returns slot → parameter → scalars.
private func matchState(
    _ state: [String: Tensor], parameters: [NamedParameter], slots: [String: (Parameter) -> Int]
) throws -> [String: [ObjectIdentifier: [Float]]] {
    let byPath = Dictionary(parameters.map { ($0.path, $0.parameter) }, uniquingKeysWith: { first, _ in first })
    var matched: [String: [ObjectIdentifier: [Float]]] = [:]
    for key in state.keys.sorted() {
        guard let dot = key.lastIndex(of: ".") else {
            throw OptimizerStateError(key: key, reason: "expected <parameter path>.<slot>")
        }
        let path = String(key[..<dot]), slot = String(key[key.index(after: dot)...])
        guard let count = slots[slot] else {
            throw OptimizerStateError(key: key, reason: "unknown slot '\(slot)' (expected \(slots.keys.sorted().joined(separator: ", ")))")
        }
        guard let parameter = byPath[path] else {
            throw OptimizerStateError(key: key, reason: "no parameter has the path '\(path)'")
        }
        let value = state[key]!
        guard value.count == count(parameter) else {
            throw OptimizerStateError(
                key: key, reason: "holds \(value.count) values (shape \(value.shape)), expected \(count(parameter)) for parameter shape \(parameter.shape)")
        }
        matched[slot, default: [:]][ObjectIdentifier(parameter)] = value.scalars
    }
    return matched
}

/// Stochastic gradient descent with momentum, optional Nesterov momentum and L2 weight decay
/// (PyTorch's formulation): g ← ∇ + wd·θ; v ← μ·v + g; θ ← θ − lr·(nesterov ? g + μ·v : v).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    private var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(learningRate >= 0, "SGD: learning rate \(learningRate) is negative")
        precondition(momentum >= 0 && momentum < 1, "SGD: momentum \(momentum) outside [0, 1)")
        precondition(weightDecay >= 0, "SGD: weight decay \(weightDecay) is negative")
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public func step(_ groups: [ParameterGroup], gradients: Gradients) {
        for group in groups {
            let lr = learningRate * group.learningRateMultiplier
            for parameter in group.parameters where !parameter.isFrozen {
                guard let grad = gradients[parameter] else { continue }
                let key = ObjectIdentifier(parameter)
                precondition(
                    grad.count == parameter.value.count,
                    "SGD: gradient of shape \(grad.shape) for a parameter of shape \(parameter.shape)")
                // Taken out of the dictionary so that updating it in place does not copy it.
                var v = velocity.removeValue(forKey: key) ?? []
                let (mu, wd, nest) = (momentum, weightDecay, nesterov)
                parameter.value.scalars.withUnsafeMutableBufferPointer { theta in
                    grad.scalars.withUnsafeBufferPointer { g in
                        // Element-wise: split across TensorCore's threads, the same numbers on any count.
                        if mu == 0 {
                            let (t, gp) = (theta.baseAddress!, g.baseAddress!)
                            ParallelKernels.forEachRange(theta.count) { r in
                                for i in r { t[i] -= lr * (gp[i] + wd * t[i]) }
                            }
                            return
                        }
                        if v.isEmpty { v = [Float](repeating: 0, count: theta.count) }
                        v.withUnsafeMutableBufferPointer { vel in
                            // Raw pointers and the Nesterov test outside the loop: with buffer
                            // pointers captured by the range closure the loop did not vectorise
                            // (the update took 29 % of the MLP step, against 10 % inline).
                            let (t, gp, vp) = (theta.baseAddress!, g.baseAddress!, vel.baseAddress!)
                            ParallelKernels.forEachRange(theta.count) { r in
                                if nest {
                                    for i in r {
                                        let gi = gp[i] + wd * t[i]
                                        vp[i] = mu * vp[i] + gi
                                        t[i] -= lr * (gi + mu * vp[i])
                                    }
                                } else {
                                    for i in r {
                                        let gi = gp[i] + wd * t[i]
                                        vp[i] = mu * vp[i] + gi
                                        t[i] -= lr * vp[i]
                                    }
                                }
                            }
                        }
                    }
                }
                if mu != 0 { velocity[key] = v }
            }
        }
    }

    /// `<path>.velocity` (the momentum buffer v) for every parameter that has one.
    public func exportState(_ parameters: [NamedParameter]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for named in parameters {
            guard let v = velocity[ObjectIdentifier(named.parameter)] else { continue }
            out["\(named.path).velocity"] = Tensor(shape: named.parameter.shape, scalars: v)
        }
        return out
    }

    public func importState(_ state: [String: Tensor], parameters: [NamedParameter]) throws {
        let matched = try matchState(state, parameters: parameters, slots: ["velocity": { $0.value.count }])
        for named in parameters { velocity[ObjectIdentifier(named.parameter)] = nil }
        for (key, v) in matched["velocity"] ?? [:] { velocity[key] = v }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction. `decoupledWeightDecay` gives AdamW
/// (Loshchilov & Hutter 2019: θ ← θ − lr·wd·θ before the Adam step); otherwise weight decay is
/// L2, added to the gradient.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    public let decoupledWeightDecay: Bool
    private var moments: [ObjectIdentifier: (m: [Float], v: [Float], t: Int)] = [:]

    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        precondition(learningRate >= 0, "Adam: learning rate \(learningRate) is negative")
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam: betas (\(beta1), \(beta2)) outside [0, 1)")
        precondition(weightDecay >= 0, "Adam: weight decay \(weightDecay) is negative")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW with the given decoupled weight decay.
    public static func adamW(learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step(_ groups: [ParameterGroup], gradients: Gradients) {
        for group in groups {
            let lr = learningRate * group.learningRateMultiplier
            for parameter in group.parameters where !parameter.isFrozen {
                guard let grad = gradients[parameter] else { continue }
                let key = ObjectIdentifier(parameter)
                let n = parameter.value.count
                // Taken out of the dictionary so that updating the moments in place does not copy them.
                var state = moments.removeValue(forKey: key) ?? ([Float](repeating: 0, count: n), [Float](repeating: 0, count: n), 0)
                state.t += 1
                let c1 = 1 - Foundation.pow(beta1, Float(state.t))
                let c2 = 1 - Foundation.pow(beta2, Float(state.t))
                let (b1, b2, eps, wd, decoupled) = (beta1, beta2, epsilon, weightDecay, decoupledWeightDecay)
                precondition(
                    grad.count == n && state.m.count == n,
                    "Adam: gradient of shape \(grad.shape) for a parameter of shape \(parameter.shape)")
                parameter.value.scalars.withUnsafeMutableBufferPointer { theta in
                    grad.scalars.withUnsafeBufferPointer { g in
                        state.m.withUnsafeMutableBufferPointer { m in
                            state.v.withUnsafeMutableBufferPointer { v in
                                // Raw pointers: see SGD.
                                let (t, gp, mp, vp) = (theta.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!)
                                ParallelKernels.forEachRange(n, elementsPerItem: 4) { r in for i in r {
                                    var gi = gp[i]
                                    if decoupled { t[i] -= lr * wd * t[i] } else { gi += wd * t[i] }
                                    mp[i] = b1 * mp[i] + (1 - b1) * gi
                                    vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                                    let mHat = mp[i] / c1
                                    let vHat = vp[i] / c2
                                    t[i] -= lr * mHat / (vHat.squareRoot() + eps)
                                } }
                            }
                        }
                    }
                }
                moments[key] = state
            }
        }
    }

    /// `<path>.m`, `<path>.v` (first and second moments) and `<path>.t` (the parameter's step
    /// count, one value; exact as Float up to 2^24 steps) for every parameter stepped so far.
    public func exportState(_ parameters: [NamedParameter]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for named in parameters {
            guard let state = moments[ObjectIdentifier(named.parameter)] else { continue }
            out["\(named.path).m"] = Tensor(shape: named.parameter.shape, scalars: state.m)
            out["\(named.path).v"] = Tensor(shape: named.parameter.shape, scalars: state.v)
            out["\(named.path).t"] = Tensor([Float(state.t)])
        }
        return out
    }

    public func importState(_ state: [String: Tensor], parameters: [NamedParameter]) throws {
        let matched = try matchState(
            state, parameters: parameters, slots: ["m": { $0.value.count }, "v": { $0.value.count }, "t": { _ in 1 }])
        let (m, v, t) = (matched["m"] ?? [:], matched["v"] ?? [:], matched["t"] ?? [:])
        for named in parameters {
            let key = ObjectIdentifier(named.parameter)
            let present = [m[key] != nil, v[key] != nil, t[key] != nil]
            guard present.allSatisfy({ $0 }) || present.allSatisfy({ !$0 }) else {
                throw OptimizerStateError(key: "\(named.path).m", reason: "Adam needs m, v and t together for parameter \(named.path)")
            }
            if let count = t[key]?.first, count < 0 || count != count.rounded() {
                throw OptimizerStateError(key: "\(named.path).t", reason: "step count \(count) is not a non-negative integer")
            }
        }
        for named in parameters { moments[ObjectIdentifier(named.parameter)] = nil }
        for (key, mValues) in m { moments[key] = (mValues, v[key]!, Int(t[key]![0])) }
    }
}
