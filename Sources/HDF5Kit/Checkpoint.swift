import Foundation
import NN
import TensorCore

/// Model checkpoints in HDF5: one float32 dataset per parameter path.
///
/// A parameter path `features.0.weight` is stored as the dataset `/features/0/weight` (groups for
/// each component), so a checkpoint can be browsed with any HDF5 tool. The root group carries the
/// metadata as string attributes: `dakit_version` (always), `format` = `dakit-checkpoint`,
/// `parameter_paths` (the saved order) and whatever the caller adds (`recipe_hash`, `step`, ...).
///
/// Loading checks every shape before changing anything: either all selected parameters are
/// assigned or none is. Partial loads are explicit: `only:` names the path prefixes to load
/// (`["features"]` loads the feature extractor and leaves a new head as initialised).
///
/// The API works on `[NamedParameter]`, which every `Layer` gives through `state`, so it does not
/// depend on any particular model type.
public enum Checkpoint {
    public static let formatName = "dakit-checkpoint"

    /// Saves `state` to `url` atomically (temporary file, then rename).
    ///
    /// - Parameters:
    ///   - metadata: extra string attributes, e.g. `["recipe_hash": …, "step": "1200"]`.
    ///   - gzipLevel: compress parameters larger than 4096 values with this deflate level (nil: none).
    public static func save(
        _ state: [NamedParameter], to url: URL, metadata: [String: String] = [:], gzipLevel: Int? = nil
    ) throws {
        var seen = Set<String>()
        for item in state {
            let components = item.path.split(separator: ".", omittingEmptySubsequences: false)
            guard !item.path.isEmpty, components.allSatisfy({ !$0.isEmpty }), !item.path.contains("/") else {
                throw HDF5Error(.typeMismatch, file: url.path, objectPath: item.path,
                    reason: "cannot save parameter path '\(item.path)': it needs non-empty dot-separated components and no '/'")
            }
            guard seen.insert(item.path).inserted else {
                throw HDF5Error(.typeMismatch, file: url.path, objectPath: item.path, reason: "parameter path '\(item.path)' appears twice in the state to save")
            }
        }
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            for item in state {
                let value = item.parameter.value
                let compress = gzipLevel != nil && value.count > 4096 && value.rank > 0
                try root.write(value, to: storagePath(item.path), gzipLevel: compress ? gzipLevel : nil)
            }
            try root.setAttribute("format", .string(formatName))
            try root.setAttribute("dakit_version", .string(DAKitVersion.string))
            try root.setAttribute("parameter_paths", .strings(state.map(\.path)))
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                guard !["format", "dakit_version", "parameter_paths"].contains(key) else {
                    throw HDF5Error(.typeMismatch, file: url.path, reason: "metadata key '\(key)' is reserved by the checkpoint format")
                }
                try root.setAttribute(key, .string(value))
            }
        }
    }

    /// Loads parameters from `url` into `state` and returns the file's metadata.
    ///
    /// - Parameters:
    ///   - only: path prefixes to load (`"features"` selects `features.0.weight` and everything under
    ///     it). nil loads every parameter in `state`.
    ///   - strict: when true, every selected parameter must be in the file and every parameter the
    ///     file holds under the selected prefixes must exist in `state`; when false, missing ones are
    ///     left untouched and extra ones ignored. Shapes are checked in both modes.
    /// - Throws: `HDF5Error` naming the first parameter whose shape does not fit (both shapes), the
    ///   missing parameters (and what the file holds), or the file problem.
    @discardableResult
    public static func load(
        into state: [NamedParameter], from url: URL, only: [String]? = nil, strict: Bool = true
    ) throws -> [String: String] {
        let (tensors, order, metadata) = try readAll(from: url)
        try assign(tensors, order: order, into: state, file: url.path, only: only, strict: strict)
        return metadata
    }

    /// Every parameter in a checkpoint (or any HDF5 file of float datasets), keyed by dotted path,
    /// with the file's order and its root attributes as text.
    public static func readAll(from url: URL) throws -> (tensors: [String: Tensor], order: [String], metadata: [String: String]) {
        let file = try HDF5File(reading: url)
        var tensors: [String: Tensor] = [:]
        var order: [String] = []
        // Each read is checked against DataLimits; so is their total, since all are held at once.
        var totalBytes = 0
        for entry in try file.tree() where entry.kind == .dataset {
            guard let info = entry.dataset, info.elementType.isNumeric else { continue }
            let bytes = try DataLimits.checkedCount(shape: info.shape, elementBytes: 4, file: url.path, objectPath: entry.path) * 4
            totalBytes += bytes
            guard totalBytes <= DataLimits.maxBytes else {
                throw HDF5Error(.invalidData, file: url.path, objectPath: entry.path,
                    reason: "the parameters up to this one total \(DataLimits.byteText(totalBytes)), over DAKit's limit of \(DataLimits.byteText(DataLimits.maxBytes)) (DataLimits.maxBytes)")
            }
            let path = dottedPath(entry.path)
            tensors[path] = try file.dataset(entry.path).readTensor()
            order.append(path)
        }
        let attributes = try file.root.attributes()
        var metadata: [String: String] = [:]
        for (key, value) in attributes where key != "parameter_paths" && key != "keys" { metadata[key] = value.text }
        // The saved order: DAKit's `parameter_paths`, or `keys` from export_pytorch_weights.py.
        if case .strings(let saved)? = attributes["parameter_paths"] ?? attributes["keys"] {
            order = saved.filter { tensors[$0] != nil } + order.filter { !saved.contains($0) }
        }
        return (tensors, order, metadata)
    }

    /// Assigns `tensors` (dotted path → value) to the matching entries of `state`, after checking all.
    public static func assign(
        _ tensors: [String: Tensor], order: [String]? = nil, into state: [NamedParameter], file: String,
        only: [String]? = nil, strict: Bool = true
    ) throws {
        func selected(_ path: String) -> Bool {
            guard let only else { return true }
            return only.contains { prefix in prefix.isEmpty || path == prefix || path.hasPrefix(prefix + ".") }
        }
        let fileOrder = order ?? tensors.keys.sorted()
        let targets = state.filter { selected($0.path) }
        if let only, targets.isEmpty {
            throw HDF5Error(.missingObject, file: file,
                reason: "no model parameter matches \(only.map { "'\($0)'" }.joined(separator: ", ")) (model has \(summarize(state.map(\.path))))")
        }
        // Shapes first, in model order, so the first misfit is named.
        for target in targets {
            if let value = tensors[target.path], value.shape != target.parameter.shape {
                throw HDF5Error(.typeMismatch, file: file, objectPath: storagePath(target.path),
                    reason: "parameter \(target.path) has shape \(value.shape) in the file but \(target.parameter.shape) in the model")
            }
        }
        if strict {
            let missing = targets.map(\.path).filter { tensors[$0] == nil }
            if !missing.isEmpty {
                throw HDF5Error(.missingObject, file: file,
                    reason: "missing \(missing.count) parameter(s): \(summarize(missing)); the file holds \(summarize(fileOrder))")
            }
            let known = Set(targets.map(\.path))
            let unexpected = fileOrder.filter { selected($0) && !known.contains($0) }
            if !unexpected.isEmpty {
                throw HDF5Error(.missingObject, file: file,
                    reason: "the file holds \(unexpected.count) parameter(s) the model does not have: \(summarize(unexpected)); "
                        + "load non-strictly or select parameter prefixes (Swift: strict: false or only:; dakit weights import: --features-only)")
            }
        }
        for target in targets {
            if let value = tensors[target.path] { target.parameter.value = value }
        }
    }

    /// `features.0.weight` → `/features/0/weight`.
    public static func storagePath(_ parameterPath: String) -> String {
        "/" + parameterPath.split(separator: ".").joined(separator: "/")
    }

    /// `/features/0/weight` (or a flat dataset named `features.0.weight`) → `features.0.weight`.
    public static func dottedPath(_ storagePath: String) -> String {
        storagePath.split(separator: "/").joined(separator: ".")
    }

    static func summarize(_ paths: [String], limit: Int = 12) -> String {
        if paths.isEmpty { return "nothing" }
        let shown = paths.prefix(limit).joined(separator: ", ")
        return paths.count > limit ? "\(shown), … (\(paths.count) in all)" : shown
    }
}
