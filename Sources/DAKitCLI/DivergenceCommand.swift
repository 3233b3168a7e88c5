import Adaptation
import ArgumentParser
import Foundation
import HDF5Kit
import TensorCore

/// `dakit divergence A.h5 [B.h5] --metric mmd|coral|pad`: a domain divergence between two feature sets.
struct DivergenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "divergence",
        abstract: "Measure the divergence (MMD², CORAL distance or proxy A-distance) between two sets of samples.",
        discussion: """
            With two files, reads the dataset `x` (or --key) from each; with one file, reads /source/x and \
            /target/x. Samples of shape N×C×H×W are flattened to N×F. Prints the value on the first line and \
            what was measured on the second. When a domain has more samples than --max-samples, a seeded \
            random subset is used (MMD and PAD default to 2000 per domain; CORAL uses all unless told). \
            Exit codes: 0 success; 2 bad input (missing file or dataset, mismatched widths, non-finite values); \
            64 an invalid combination of options (argument-parser's usage error).
            """)

    enum Metric: String, ExpressibleByArgument, CaseIterable { case mmd, coral, pad }
    enum KernelName: String, ExpressibleByArgument, CaseIterable { case gaussian, linear }
    enum RuleName: String, ExpressibleByArgument, CaseIterable { case median, mean }

    @Argument(help: "One domain file (/source/x and /target/x), or two files each holding `x`.")
    var files: [String]
    @Option(help: "mmd, coral or pad.") var metric: Metric = .mmd
    @Option(help: "MMD kernel: gaussian or linear (default gaussian).") var kernel: KernelName?
    @Option(help: "MMD Gaussian bandwidth σ of exp(−‖x−y‖²/(2σ²)) (instead of --bandwidth-rule).") var bandwidth: Float?
    @Option(help: "MMD bandwidth rule: σ² = median or mean pairwise squared distance × each multiplier (default median).")
    var bandwidthRule: RuleName?
    @Option(
        parsing: .upToNextOption,
        help: "MMD bandwidth multipliers for the rule, e.g. 0.25 0.5 1 2 4 (default 1); several give the sum of kernels.")
    var multipliers: [Float] = []
    @Option(help: "MMD estimator: biased, unbiased or linear (default unbiased).") var estimator: String?
    @Option(help: "Seed for subsampling and for the PAD split.") var seed: UInt64 = 0
    @Option(help: "Use at most this many samples per domain (default 2000 for mmd and pad, all for coral).")
    var maxSamples: Int?
    @Option(help: "Dataset read from each of two files.") var key: String = "x"
    @Option(help: "PAD: hidden ReLU units of the domain classifier (0 = logistic regression, the default).")
    var hiddenUnits: Int = 0

    func validate() throws {
        guard (1...2).contains(files.count) else {
            throw ValidationError("expects one domain file or two sample files, got \(files.count)")
        }
        if let maxSamples, maxSamples < 2 { throw ValidationError("--max-samples must be at least 2, got \(maxSamples)") }
        guard hiddenUnits >= 0 else { throw ValidationError("--hidden-units must not be negative, got \(hiddenUnits)") }
        if hiddenUnits > 0 && metric != .pad { throw ValidationError("--hidden-units can only be used with --metric pad") }
        if metric != .mmd {
            let given = [
                ("--kernel", kernel != nil), ("--bandwidth", bandwidth != nil), ("--bandwidth-rule", bandwidthRule != nil),
                ("--multipliers", !multipliers.isEmpty), ("--estimator", estimator != nil),
            ].filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("\(given.joined(separator: ", ")) can only be used with --metric mmd (got --metric \(metric.rawValue))")
            }
            return
        }
        if let estimator, MMDEstimator(rawValue: estimator) == nil {
            throw ValidationError(
                "--estimator must be one of \(MMDEstimator.allCases.map(\.rawValue).joined(separator: ", ")), got '\(estimator)'")
        }
        if kernel == .linear, bandwidth != nil || bandwidthRule != nil || !multipliers.isEmpty {
            throw ValidationError("--bandwidth, --bandwidth-rule and --multipliers apply to --kernel gaussian only")
        }
        if bandwidth != nil, bandwidthRule != nil || !multipliers.isEmpty {
            throw ValidationError("give either --bandwidth σ or --bandwidth-rule (with --multipliers), not both")
        }
        if let bandwidth, !(bandwidth > 0 && bandwidth.isFinite) {
            throw ValidationError("--bandwidth must be a positive number, got \(bandwidth)")
        }
        if let bad = multipliers.first(where: { !($0 > 0 && $0.isFinite) }) {
            throw ValidationError("--multipliers must be positive numbers, got \(bad)")
        }
    }

    func run() throws {
        let (source, target, origin) = try loadSamples()
        let root = SeededGenerator(seed: seed)
        switch metric {
        case .mmd:
            let cap = maxSamples ?? 2000
            var sourceRNG = root.fork("divergence.source"), targetRNG = root.fork("divergence.target")
            let s = subsample(source, to: cap, rng: &sourceRNG)
            let t = subsample(target, to: cap, rng: &targetRNG)
            let kernel = mmdKernel()
            let estimator = MMDEstimator(rawValue: self.estimator ?? "unbiased")!
            let value = MMD.value(source: s, target: t, kernel: kernel, estimator: estimator)
            print(format(Double(value)))
            var kernelText = "linear kernel"
            if case .gaussian(let rule) = kernel {
                let sigma2 = Kernels.squaredBandwidths(source: s, target: t, rule: rule).map { format(Double($0)) }
                kernelText = "Gaussian kernel" + (sigma2.count > 1 ? "s (summed)" : "") + " σ² = " + sigma2.joined(separator: ", ")
            }
            var used = "\(s.shape[0]) source and \(t.shape[0]) target samples"
            if estimator == .linear {
                used = "\(MMD.linearTimeSampleCount(sourceCount: s.shape[0], targetCount: t.shape[0])) samples per domain"
            }
            print("MMD² (\(estimator.rawValue) estimator, \(kernelText)) over \(used) of \(s.shape[1]) features from \(origin)")
        case .coral:
            var sourceRNG = root.fork("divergence.source"), targetRNG = root.fork("divergence.target")
            let s = maxSamples.map { subsample(source, to: $0, rng: &sourceRNG) } ?? source
            let t = maxSamples.map { subsample(target, to: $0, rng: &targetRNG) } ?? target
            let value = CORAL.distance(source: s, target: t)
            print(format(Double(value)))
            print(
                "CORAL distance ‖C_S − C_T‖²_F/(4d²) over \(s.shape[0]) source and \(t.shape[0]) target samples of \(s.shape[1]) features from \(origin)")
        case .pad:
            let options =
                hiddenUnits > 0
                ? DomainClassifier.Options(iterations: 500, learningRate: 0.01, l2: 1e-4, hiddenUnits: hiddenUnits)
                : DomainClassifier.Options()
            let pad = ProxyADistance.estimate(
                source: source, target: target, seed: seed, maxSamplesPerDomain: maxSamples ?? 2000, options: options)
            let classifier =
                hiddenUnits > 0 ? "an MLP (\(hiddenUnits) hidden ReLU units, 500 Adam steps)" : "logistic regression"
            print(format(pad.distance))
            print(
                "proxy A-distance 2(1 − 2ε) clipped to [0, 2]: held-out error ε = \(format(pad.heldOutError)), "
                    + "unclipped \(format(pad.rawDistance)); \(classifier) trained on \(pad.trainingCountPerDomain) "
                    + "and tested on \(pad.testCountPerDomain) samples per domain of \(source.shape[1]) features from \(origin)")
        }
    }

    func mmdKernel() -> MMDKernel {
        if kernel == .linear { return .linear }
        if let bandwidth { return .gaussian(.fixed(sigma: bandwidth)) }
        let m = multipliers.isEmpty ? [Float(1)] : multipliers
        return .gaussian(bandwidthRule == .mean ? .mean(multipliers: m) : .median(multipliers: m))
    }

    /// Source and target samples as N×F matrices, and where they came from.
    func loadSamples() throws -> (Tensor, Tensor, String) {
        if files.count == 1 {
            // One file is a domain dataset: validated as training would (labels, sizes, minimums).
            let data: DomainDataset
            do {
                data = try DomainDatasetFile.load(URL(fileURLWithPath: files[0]))
            } catch let error as HDF5Error {
                throw fail(error.description)
            }
            let s = data.source.x.reshaped([data.source.count, data.source.x.count / data.source.count])
            let t = data.target.x.reshaped([data.target.count, data.target.x.count / data.target.count])
            return (s, t, "\(files[0]) (/source/x, /target/x)")
        }
        let path = key.hasPrefix("/") ? key : "/" + key
        let s = try readMatrix(file: files[0], path: path)
        let t = try readMatrix(file: files[1], path: path)
        try checkWidths(s, "\(files[0]):\(path)", t, "\(files[1]):\(path)")
        return (s, t, "\(files[0]) and \(files[1]) (\(path))")
    }

    func readMatrix(file: String, path: String) throws -> Tensor {
        let x: Tensor
        do {
            let h5 = try HDF5File(reading: URL(fileURLWithPath: file))
            defer { h5.close() }
            x = try h5.dataset(path).readTensor()
        } catch let error as HDF5Error {
            throw fail(error.description)
        }
        guard x.rank >= 1, x.shape[0] >= 2 else {
            throw fail("\(file): \(path) has shape \(x.shape); expected N samples (N ≥ 2) along the first axis")
        }
        guard x.shape.dropFirst().allSatisfy({ $0 > 0 }) else {
            throw fail("\(file): \(path) has shape \(x.shape), whose samples hold no values; every sample needs at least 1")
        }
        if let bad = x.scalars.firstIndex(where: { !$0.isFinite }) {
            throw fail("\(file): \(path) holds a non-finite value (\(x.scalars[bad])) at flat index \(bad)")
        }
        return x.reshaped([x.shape[0], x.count / x.shape[0]])
    }

    func checkWidths(_ s: Tensor, _ sName: String, _ t: Tensor, _ tName: String) throws {
        guard s.shape[1] == t.shape[1] else {
            throw fail("\(sName) has \(s.shape[1]) features per sample but \(tName) has \(t.shape[1])")
        }
    }

    func subsample(_ x: Tensor, to cap: Int, rng: inout SeededGenerator) -> Tensor {
        guard x.shape[0] > cap else { return x }
        return x.gathering(rows: rng.sample(x.shape[0], size: cap).sorted())
    }

    /// Prints one line to stderr and gives the "bad input" exit code.
    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("\(CommandLineContext.current.toolName) divergence: error: \(message)\n".utf8))
        return ExitCode(2)
    }

    func format(_ value: Double) -> String { String(format: "%.6g", value) }
}
