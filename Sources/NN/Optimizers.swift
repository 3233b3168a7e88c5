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
}

extension Optimizer {
    public func step(_ parameters: [Parameter], gradients: Gradients) {
        step([ParameterGroup(name: "all", parameters: parameters)], gradients: gradients)
    }
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
                        if mu == 0 {
                            for i in 0..<theta.count { theta[i] -= lr * (g[i] + wd * theta[i]) }
                            return
                        }
                        if v.isEmpty { v = [Float](repeating: 0, count: theta.count) }
                        v.withUnsafeMutableBufferPointer { vel in
                            for i in 0..<theta.count {
                                let gi = g[i] + wd * theta[i]
                                vel[i] = mu * vel[i] + gi
                                theta[i] -= lr * (nest ? gi + mu * vel[i] : vel[i])
                            }
                        }
                    }
                }
                if mu != 0 { velocity[key] = v }
            }
        }
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
                                for i in 0..<n {
                                    var gi = g[i]
                                    if decoupled { theta[i] -= lr * wd * theta[i] } else { gi += wd * theta[i] }
                                    m[i] = b1 * m[i] + (1 - b1) * gi
                                    v[i] = b2 * v[i] + (1 - b2) * gi * gi
                                    let mHat = m[i] / c1
                                    let vHat = v[i] / c2
                                    theta[i] -= lr * mHat / (vHat.squareRoot() + eps)
                                }
                            }
                        }
                    }
                }
                moments[key] = state
            }
        }
    }
}
