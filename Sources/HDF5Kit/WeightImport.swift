import Foundation
import NN
import TensorCore

/// A layer's weights read from another framework's file, already converted to DAKit's layout.
public struct ImportedLayer: Sendable {
    public enum Kind: String, Sendable { case dense = "Dense", conv2d = "Conv2D", batchNorm = "BatchNorm" }
    /// The layer's name in the file (`dense_1`).
    public var name: String
    public var kind: Kind
    /// DAKit parameter names (`weight`, `bias`, `gamma`, `beta`, `running_mean`, `running_var`) →
    /// values. Dense `weight` is out×in; Conv2D `weight` is O×C×KH×KW (except the Dense input
    /// permutation after a channels-last Flatten, which needs the model and is done on load).
    public var tensors: [String: Tensor]
}

/// One assignment made by an import: file layer → DAKit parameter path prefix.
public struct WeightMapping: Sendable, CustomStringConvertible {
    public var fileLayer: String
    public var modelPath: String
    public var kind: ImportedLayer.Kind
    /// Whether a Dense kernel's input rows were reordered from Keras's H·W·C flatten order to C·H·W.
    public var permutedFlattenInput: Bool
    public var description: String {
        "\(fileLayer) → \(modelPath) (\(kind.rawValue)\(permutedFlattenInput ? ", input rows reordered HWC→CHW" : ""))"
    }
}

/// Keras weight files: Keras 3 `model.save_weights("m.weights.h5")` and Keras 2 `save_weights("m.h5")`
/// (also Keras 2 full-model `.h5` files, whose weights sit under `/model_weights`).
///
/// - Keras 3: `/layers/<name>/vars/<i>` datasets (i = 0, 1, …); Dense vars are kernel (in×out) and
///   bias; Conv2D vars are kernel (KH×KW×C×O) and bias; BatchNormalization vars are gamma, beta,
///   moving mean, moving variance. Layer order is the order of Keras's automatic names (`dense`,
///   `dense_1`, …, compared by their numeric suffix), since h5py does not record creation order.
/// - Keras 2: root attribute `layer_names` (model order); each layer group's attribute
///   `weight_names` (`dense_1/kernel:0`, …) names its datasets.
///
/// Layers are matched to the DAKit model kind by kind, in order: the i-th Keras Dense goes to the
/// i-th DAKit Dense, and likewise for Conv2D and BatchNorm. Kernels are transposed to DAKit's
/// layout, and a Dense that follows a Flatten of a C×H×W activation gets its input rows reordered
/// from Keras's channels-last order (needs the model's `inputShape`).
public enum KerasWeights {
    /// Reads every weighted layer of a Keras file, in model order.
    public static func read(_ url: URL) throws -> (format: String, layers: [ImportedLayer]) {
        let file = try HDF5File(reading: url)
        let root = try file.root
        if root.hasAttribute("layer_names") {
            return ("keras2", try readKeras2(file, group: root))
        }
        if file.exists("/model_weights"), try file.group("/model_weights").hasAttribute("layer_names") {
            return ("keras2", try readKeras2(file, group: try file.group("/model_weights")))
        }
        if file.exists("/layers") {
            return ("keras3", try readKeras3(file))
        }
        throw HDF5Error(.missingObject, file: url.path,
            reason: "not a Keras weights file: expected a root attribute 'layer_names' (Keras 2) or a group /layers (Keras 3); the file holds \(try root.childNames().map { "/" + $0 }.joined(separator: ", "))")
    }

    static func readKeras2(_ file: HDF5File, group: HDF5Group) throws -> [ImportedLayer] {
        let names = try group.attribute("layer_names").stringList
        var layers: [ImportedLayer] = []
        for name in names {
            let layerGroup = try group.group(name)
            guard layerGroup.hasAttribute("weight_names") else { continue }
            let weightNames = try layerGroup.attribute("weight_names").stringList.filter { !$0.isEmpty }
            if weightNames.isEmpty { continue }
            var values: [(String, Tensor)] = []
            for weightName in weightNames {
                let short = weightName.split(separator: "/").last.map(String.init) ?? weightName
                values.append((short.replacingOccurrences(of: ":0", with: ""), try layerGroup.dataset(weightName).readTensor()))
            }
            layers.append(try convert(name: name, named: values, file: file.name, objectPath: layerGroup.path))
        }
        return layers
    }

    static func readKeras3(_ file: HDF5File) throws -> [ImportedLayer] {
        var found: [(name: String, path: String)] = []
        var visited = Set<HDF5ObjectIdentity>()
        func visit(_ group: HDF5Group, name: String) throws {
            // Hard links can make the layer tree a cycle; enter each group once.
            if let identity = group.identity, !visited.insert(identity).inserted { return }
            if group.contains("vars") {
                let vars = try group.group("vars")
                if !(try vars.childNames()).isEmpty { found.append((name, vars.path)) }
            }
            if group.contains("layers") {
                let layers = try group.group("layers")
                for child in try layers.childNames() where try file.kind(of: layers.path + "/" + child) == .group {
                    try visit(try layers.group(child), name: child)
                }
            }
        }
        try visit(try file.root, name: "")
        found.sort { naturalOrder($0.name, $1.name) }
        return try found.map { item in
            let vars = try file.group(item.path)
            let indices = try vars.childNames().compactMap(Int.init).sorted()
            let tensors = try indices.map { try vars.dataset(String($0)).readTensor() }
            return try convert(name: item.name, positional: tensors, file: file.name, objectPath: item.path)
        }
    }

    /// `dense_2` < `dense_10`: names compared with their numeric suffix as a number.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        func split(_ s: String) -> (String, Int) {
            if let underscore = s.lastIndex(of: "_"), let n = Int(s[s.index(after: underscore)...]) { return (String(s[..<underscore]), n + 1) }
            return (s, 0)
        }
        let (x, y) = (split(a), split(b))
        return x.0 != y.0 ? x.0 < y.0 : x.1 < y.1
    }

    static func convert(name: String, named: [(String, Tensor)], file: String, objectPath: String) throws -> ImportedLayer {
        let dictionary = Dictionary(named, uniquingKeysWith: { first, _ in first })
        if let gamma = dictionary["gamma"] ?? dictionary["moving_mean"].map({ Tensor.ones($0.shape) }), let mean = dictionary["moving_mean"],
            let variance = dictionary["moving_variance"]
        {
            let beta = dictionary["beta"] ?? Tensor.zeros(mean.shape)
            return ImportedLayer(name: name, kind: .batchNorm, tensors: ["gamma": gamma, "beta": beta, "running_mean": mean, "running_var": variance])
        }
        guard let kernel = dictionary["kernel"] else {
            throw HDF5Error(.typeMismatch, file: file, objectPath: objectPath,
                reason: "layer '\(name)' has weights \(named.map(\.0).joined(separator: ", ")); DAKit imports Dense, Conv2D and BatchNormalization only")
        }
        return try convert(name: name, positional: [kernel] + (dictionary["bias"].map { [$0] } ?? []), file: file, objectPath: objectPath)
    }

    static func convert(name: String, positional: [Tensor], file: String, objectPath: String) throws -> ImportedLayer {
        func unsupported() -> HDF5Error {
            HDF5Error(.typeMismatch, file: file, objectPath: objectPath,
                reason: "layer '\(name)' has weights of shapes \(positional.map(\.shape)); DAKit imports Dense, Conv2D and BatchNormalization only")
        }
        guard let kernel = positional.first else { throw unsupported() }
        if positional.count == 4, positional.allSatisfy({ $0.rank == 1 && $0.shape == kernel.shape }) {
            return ImportedLayer(name: name, kind: .batchNorm,
                tensors: ["gamma": positional[0], "beta": positional[1], "running_mean": positional[2], "running_var": positional[3]])
        }
        guard positional.count <= 2, positional.count == 1 || positional[1].rank == 1 else { throw unsupported() }
        var tensors: [String: Tensor] = [:]
        if positional.count == 2 { tensors["bias"] = positional[1] }
        switch kernel.rank {
        case 2:
            tensors["weight"] = kernel.transposed()  // in×out → out×in
            return ImportedLayer(name: name, kind: .dense, tensors: tensors)
        case 4:
            tensors["weight"] = kernel.transposed([3, 2, 0, 1])  // KH×KW×C×O → O×C×KH×KW
            return ImportedLayer(name: name, kind: .conv2d, tensors: tensors)
        default:
            throw unsupported()
        }
    }

    /// Loads a Keras file into a DAKit model made of `roots` (prefix, layer), e.g.
    /// `[("features", extractor), ("classifier", head)]`. Checks everything before assigning anything.
    ///
    /// - Parameters:
    ///   - inputShape: one sample's shape (C×H×W or features), needed when a Dense follows a Flatten
    ///     of a convolutional activation.
    ///   - strict: when true, the file and the model must have the same number of layers of each
    ///     kind; when false, the first min(file, model) of each kind are loaded (a new head stays).
    @discardableResult
    public static func load(
        _ url: URL, into roots: [(prefix: String, layer: any Layer)], inputShape: [Int]? = nil, strict: Bool = true
    ) throws -> [WeightMapping] {
        let (_, imported) = try read(url)
        let targets = try ModelLayers.walk(roots, inputShape: inputShape, file: url.path)
        var mappings: [WeightMapping] = []
        var assignments: [(Parameter, Tensor)] = []
        for kind in [ImportedLayer.Kind.conv2d, .dense, .batchNorm] {
            let fileLayers = imported.filter { $0.kind == kind }
            let modelLayers = targets.filter { $0.kind == kind }
            if strict && fileLayers.count != modelLayers.count {
                throw HDF5Error(.typeMismatch, file: url.path,
                    reason: "the file has \(fileLayers.count) \(kind.rawValue) layer(s) (\(fileLayers.map(\.name).joined(separator: ", "))) but the model has \(modelLayers.count) (\(modelLayers.map(\.path).joined(separator: ", "))); to load only the first ones, load non-strictly (Swift: strict: false; dakit weights import: --features-only)")
            }
            for (source, target) in zip(fileLayers, modelLayers) {
                var permuted = false
                for (name, parameter) in target.parameters {
                    guard var value = source.tensors[name] else {
                        throw HDF5Error(.missingObject, file: url.path,
                            reason: "Keras layer '\(source.name)' has no \(name) for \(target.path).\(name) (it has \(source.tensors.keys.sorted().joined(separator: ", ")))")
                    }
                    if name == "weight", kind == .dense, let (c, h, w) = target.flattenedFrom, value.rank == 2,
                        value.shape[1] == c * h * w
                    {
                        value = reorderDenseInput(value, channels: c, height: h, width: w)
                        permuted = c > 1
                    }
                    guard value.shape == parameter.shape else {
                        throw HDF5Error(.typeMismatch, file: url.path,
                            reason: "Keras layer '\(source.name)' \(name) has shape \(value.shape) (DAKit layout) but \(target.path).\(name) has shape \(parameter.shape)")
                    }
                    assignments.append((parameter, value))
                }
                mappings.append(WeightMapping(fileLayer: source.name, modelPath: target.path, kind: kind, permutedFlattenInput: permuted))
            }
        }
        for (parameter, value) in assignments { parameter.value = value }
        return mappings.sorted { a, b in
            (targets.firstIndex { $0.path == a.modelPath } ?? 0) < (targets.firstIndex { $0.path == b.modelPath } ?? 0)
        }
    }

    /// Dense weight out×(H·W·C in Keras order) → out×(C·H·W in DAKit order), or the inverse with
    /// `toChannelsLast` (export).
    static func reorderDenseInput(_ weight: Tensor, channels c: Int, height h: Int, width w: Int, toChannelsLast: Bool = false) -> Tensor {
        let out = weight.shape[0]
        let n = c * h * w
        var result = [Float](repeating: 0, count: out * n)
        for o in 0..<out {
            for ci in 0..<c {
                for hi in 0..<h {
                    for wi in 0..<w {
                        let channelsFirst = o * n + ci * h * w + hi * w + wi, channelsLast = o * n + hi * w * c + wi * c + ci
                        if toChannelsLast {
                            result[channelsLast] = weight.scalars[channelsFirst]
                        } else {
                            result[channelsFirst] = weight.scalars[channelsLast]
                        }
                    }
                }
            }
        }
        return Tensor(shape: weight.shape, scalars: result)
    }
}

/// The weighted layers of a DAKit model in forward order, with what an importer needs to know.
struct ModelLayers {
    struct Target {
        var path: String
        var kind: ImportedLayer.Kind
        var parameters: [(String, Parameter)]
        /// For a Dense right after a Flatten of an N×C×H×W activation: (C, H, W).
        var flattenedFrom: (Int, Int, Int)?
    }

    static func walk(_ roots: [(prefix: String, layer: any Layer)], inputShape: [Int]?, file: String) throws -> [Target] {
        var targets: [Target] = []
        var activation: Tensor? = inputShape.map { Tensor.zeros([1] + $0) }
        var sawConvolution = false
        var pendingFlatten: (Int, Int, Int)?
        var flattenWithoutShape = false
        func visit(_ layer: any Layer, path: String) throws {
            if let sequential = layer as? Sequential {
                for (index, child) in sequential.layers.enumerated() {
                    try visit(child, path: path.isEmpty ? String(index) : "\(path).\(index)")
                }
                return
            }
            let named = layer.state.map { ($0.path, $0.parameter) }
            switch layer {
            case is Dense:
                if flattenWithoutShape {
                    throw HDF5Error(.invalidData, file: file,
                        reason: "\(path) follows a Flatten of a convolutional activation: give the model's input shape so that Keras's channels-last flatten order can be converted")
                }
                targets.append(Target(path: path, kind: .dense, parameters: named, flattenedFrom: pendingFlatten))
                pendingFlatten = nil
            case is Conv2D:
                sawConvolution = true
                targets.append(Target(path: path, kind: .conv2d, parameters: named, flattenedFrom: nil))
            case is BatchNorm:
                targets.append(Target(path: path, kind: .batchNorm, parameters: named, flattenedFrom: nil))
            case is Flatten:
                if let shape = activation?.shape, shape.count == 4 {
                    pendingFlatten = (shape[1], shape[2], shape[3])
                } else if activation == nil && sawConvolution {
                    flattenWithoutShape = true
                }
            default:
                if !named.isEmpty {
                    throw HDF5Error(.typeMismatch, file: file, reason: "\(path) (\(layer.summary)) has weights but is not a Dense, Conv2D or BatchNorm layer; it cannot take imported weights")
                }
            }
            if let input = activation { activation = layer(input) }
        }
        for root in roots { try visit(root.layer, path: root.prefix) }
        return targets
    }
}

/// PyTorch state dicts saved with `Datasets/export_pytorch_weights.py`: one dataset per state-dict key
/// (`features.0.weight` stored as `/features/0/weight`, or as a flat dataset of that name).
///
/// PyTorch's Linear (out×in) and Conv2d (O×C×KH×KW) already match DAKit's layout. BatchNorm's
/// `weight`/`bias` are DAKit's `gamma`/`beta` (renamed on load); `num_batches_tracked` is skipped.
public enum PyTorchWeights {
    /// - Parameter keyPrefix: prepended to every key of the file (`"features"` loads a bare
    ///   `nn.Sequential`'s `0.weight` into `features.0.weight`).
    @discardableResult
    public static func load(
        _ url: URL, into state: [NamedParameter], keyPrefix: String? = nil, only: [String]? = nil, strict: Bool = true
    ) throws -> [String: String] {
        var (tensors, order, metadata) = try Checkpoint.readAll(from: url)
        if let keyPrefix, !keyPrefix.isEmpty {
            tensors = Dictionary(uniqueKeysWithValues: tensors.map { ("\(keyPrefix).\($0.key)", $0.value) })
            order = order.map { "\(keyPrefix).\($0)" }
        }
        var renamed: [String: Tensor] = [:]
        var renamedOrder: [String] = []
        let batchNormPrefixes = Set(state.map(\.path).filter { $0.hasSuffix(".gamma") || $0 == "gamma" }.map { String($0.dropLast("gamma".count)) })
        for key in order where !key.hasSuffix("num_batches_tracked") {
            var target = key
            for prefix in batchNormPrefixes {
                if key == prefix + "weight" { target = prefix + "gamma" }
                if key == prefix + "bias" { target = prefix + "beta" }
            }
            renamed[target] = tensors[key]
            renamedOrder.append(target)
        }
        try Checkpoint.assign(renamed, order: renamedOrder, into: state, file: url.path, only: only, strict: strict)
        return metadata
    }
}
