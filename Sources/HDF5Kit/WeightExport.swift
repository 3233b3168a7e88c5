import Foundation
import NN
import TensorCore

extension PyTorchWeights {
    /// Writes `state` as a PyTorch state dict in the layout `load` and
    /// `Datasets/export_pytorch_weights.py` use: one float32 dataset per key (`features.0.weight`
    /// stored as `/features/0/weight`), root attributes `format` = `pytorch-state-dict` and `keys`
    /// (state-dict order). Linear and Conv2d weights keep DAKit's layout (out×in, O×C×KH×KW);
    /// BatchNorm `gamma`/`beta` become `weight`/`bias`, its running statistics keep their names, and
    /// `num_batches_tracked` (int64 scalar 0) is added so that `load_state_dict(strict=True)` accepts
    /// the file. `metadata` adds root string attributes (`dakit weights export` records the model's
    /// description there, for Datasets/check_pytorch_export.py). Written atomically.
    public static func export(_ state: [NamedParameter], to url: URL, metadata: [String: String] = [:]) throws {
        var keys: [String] = []
        var values: [(key: String, value: Tensor)] = []
        let batchNormPrefixes = Set(state.map(\.path).filter { $0.hasSuffix(".gamma") }.map { String($0.dropLast("gamma".count)) })
        // PyTorch lists a module's tensors together (weight, bias, running_mean, running_var);
        // DAKit's state lists every parameter, then every buffer.
        func module(_ path: String) -> Substring { path[..<(path.lastIndex(of: ".") ?? path.startIndex)] }
        var firstSeen: [Substring: Int] = [:]
        for (i, item) in state.enumerated() where firstSeen[module(item.path)] == nil { firstSeen[module(item.path)] = i }
        let ordered = state.enumerated().sorted { a, b in
            (firstSeen[module(a.element.path)]!, a.offset) < (firstSeen[module(b.element.path)]!, b.offset)
        }.map(\.element)
        for item in ordered {
            var key = item.path
            for prefix in batchNormPrefixes {
                if key == prefix + "gamma" { key = prefix + "weight" }
                if key == prefix + "beta" { key = prefix + "bias" }
            }
            values.append((key, item.parameter.value))
            keys.append(key)
            if let prefix = batchNormPrefixes.first(where: { item.path == $0 + "running_var" }) { keys.append(prefix + "num_batches_tracked") }
        }
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            for (key, value) in values { try root.write(value, to: Checkpoint.storagePath(key)) }
            for key in keys where key.hasSuffix(".num_batches_tracked") {
                try root.createDataset(Checkpoint.storagePath(key), shape: [], type: .int64).write(integers: [0])
            }
            try root.setAttribute("format", .string("pytorch-state-dict"))
            try root.setAttribute("keys", .strings(keys))
            try root.setAttribute("dakit_version", .string(DAKitVersion.string))
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !["format", "keys", "dakit_version"].contains(key) {
                try root.setAttribute(key, .string(value))
            }
        }
    }
}

extension KerasWeights {
    /// Writes the model made of `roots` (prefix, layer) in the Keras 3 `.weights.h5` layout that
    /// `read` imports: `/layers/<name>/vars/<i>`, layers named as Keras names them automatically
    /// (`conv2d`, `conv2d_1`, …, `dense`, `dense_1`, …, `batch_normalization`, …) in forward order.
    ///
    /// The inverse of the import's conversions: Dense out×in → kernel in×out; Conv2D O×C×KH×KW →
    /// KH×KW×C×O; a Dense after a Flatten of a C×H×W activation gets its input rows reordered from
    /// DAKit's C·H·W order to Keras's channels-last H·W·C; BatchNorm vars are gamma, beta, moving
    /// mean, moving variance. A matching `keras.Sequential` (same layers, channels-last inputs)
    /// loads it with `model.load_weights(path)`. Written atomically.
    ///
    /// - Parameter inputShape: one sample's shape (C×H×W or features), needed to find the Flatten shape.
    /// - Returns: the Keras layer name of each exported model layer (`dense_1 ← classifier.0`).
    @discardableResult
    public static func export(_ roots: [(prefix: String, layer: any Layer)], inputShape: [Int], to url: URL) throws -> [WeightMapping] {
        let targets = try ModelLayers.walk(roots, inputShape: inputShape, file: url.path)
        var counts: [ImportedLayer.Kind: Int] = [:]
        var layers: [(name: String, vars: [Tensor])] = []
        var mappings: [WeightMapping] = []
        for target in targets {
            let index = counts[target.kind, default: 0]
            counts[target.kind] = index + 1
            let base = ["Dense": "dense", "Conv2D": "conv2d", "BatchNorm": "batch_normalization"][target.kind.rawValue]!
            let name = index == 0 ? base : "\(base)_\(index)"
            let values = Dictionary(target.parameters.map { ($0.0, $0.1.value) }, uniquingKeysWith: { first, _ in first })
            var vars: [Tensor] = []
            var permuted = false
            switch target.kind {
            case .dense:
                var weight = values["weight"]!
                if let (c, h, w) = target.flattenedFrom, weight.shape[1] == c * h * w {
                    weight = KerasWeights.reorderDenseInput(weight, channels: c, height: h, width: w, toChannelsLast: true)
                    permuted = c > 1
                }
                vars = [weight.transposed()] + (values["bias"].map { [$0] } ?? [])
            case .conv2d:
                vars = [values["weight"]!.transposed([2, 3, 1, 0])] + (values["bias"].map { [$0] } ?? [])
            case .batchNorm:
                vars = ["gamma", "beta", "running_mean", "running_var"].map { values[$0]! }
            }
            layers.append((name, vars))
            mappings.append(WeightMapping(fileLayer: name, modelPath: target.path, kind: target.kind, permutedFlattenInput: permuted))
        }
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            for layer in layers {
                for (i, value) in layer.vars.enumerated() { try root.write(value, to: "layers/\(layer.name)/vars/\(i)") }
            }
            try root.setAttribute("dakit_version", .string(DAKitVersion.string))
        }
        return mappings
    }
}
