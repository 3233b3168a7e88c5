import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

/// What a run checkpoint records about its model, so that `dakit predict`, `evaluate` and
/// `weights export` can rebuild it without the recipe.
///
/// Stored as root attributes of `checkpoint.h5` beside `recipe_hash` (all text, since checkpoint
/// metadata is text): `model_spec` (the `ModelSpec` as JSON: architecture and its sizes),
/// `input_shape` (one sample's shape as a JSON array, `[1,28,28]`), `class_names` (a JSON array of
/// strings, so a name may hold a comma) and `class_count`.
///
/// Input standardisation (`data: {standardize: source | per_domain}`): `input_standardization`, the
/// fitted `InputStandardization` as JSON (mode, per-feature or per-channel mean and std for each
/// domain), applied by `TrainedModel.prepareInputs` before the model sees raw data. A checkpoint
/// without the attribute (`standardize: none`, or written before it existed) takes inputs as they are.
public struct CheckpointModelInfo: Sendable, Equatable {
    public var spec: ModelSpec
    public var inputShape: [Int]
    public var classNames: [String]
    public var recipeHash: String?
    public var standardization: InputStandardization?

    public init(
        spec: ModelSpec, inputShape: [Int], classNames: [String], recipeHash: String? = nil, standardization: InputStandardization? = nil
    ) {
        self.spec = spec
        self.inputShape = inputShape
        self.classNames = classNames
        self.recipeHash = recipeHash
        self.standardization = standardization
    }

    public var classCount: Int { classNames.count }

    /// The attribute keys this type writes (besides `recipe_hash`, which the run state owns);
    /// `input_standardization` only when the run standardised its inputs.
    public static let attributeKeys = ["model_spec", "input_shape", "class_names", "class_count", "input_standardization"]

    /// The root attributes that describe the model.
    public var metadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<T: Encodable>(_ value: T) -> String { String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self) }
        var metadata = [
            "model_spec": json(spec), "input_shape": json(inputShape), "class_names": json(classNames), "class_count": String(classCount),
        ]
        if let standardization { metadata["input_standardization"] = json(standardization) }
        return metadata
    }

    /// Reads the description back from a checkpoint's root attributes; `file` names the checkpoint
    /// in messages. A checkpoint without them (written by a DAKit before they existed, or a weights
    /// file that is not a run checkpoint) throws `ExperimentError.invalid` saying so.
    public init(metadata: [String: String], file: String) throws {
        guard let specText = metadata["model_spec"], let shapeText = metadata["input_shape"], let namesText = metadata["class_names"] else {
            let missing = ["model_spec", "input_shape", "class_names"].filter { metadata[$0] == nil }
            throw ExperimentError.invalid(
                "\(file) does not describe its model (no \(missing.joined(separator: ", ")) attribute): it was written by an earlier DAKit "
                    + "(before \(DAKitVersion.string)'s self-describing checkpoints) or is not a `dakit run` checkpoint; train it again with this version")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ text: String, _ key: String) throws -> T {
            do {
                return try decoder.decode(type, from: Data(text.utf8))
            } catch {
                throw ExperimentError.invalid("\(file): the attribute \(key) is not readable (\(text.prefix(80)))")
            }
        }
        spec = try decode(ModelSpec.self, specText, "model_spec")
        inputShape = try decode([Int].self, shapeText, "input_shape")
        classNames = try decode([String].self, namesText, "class_names")
        recipeHash = metadata["recipe_hash"]
        standardization = try metadata["input_standardization"].map { try decode(InputStandardization.self, $0, "input_standardization") }
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 >= 1 }), classNames.count >= 1 else {
            throw ExperimentError.invalid("\(file): input_shape \(shapeText) or class_names \(namesText) cannot describe a model")
        }
        if let standardization {
            let width = inputShape[0]
            for stats in [standardization.source, standardization.target]
            where stats.mean.count != width || stats.std.count != width || !(stats.mean + stats.std).allSatisfy({ $0.isFinite }) || stats.std.contains(where: { $0 <= 0 }) {
                throw ExperimentError.invalid(
                    "\(file): input_standardization holds \(stats.mean.count) means and \(stats.std.count) deviations (finite, deviations positive) "
                        + "but the input has \(width) features or channels")
            }
        }
    }
}

/// A trained model rebuilt from a self-describing checkpoint.
public struct TrainedModel {
    public let model: AdaptationModel
    public let info: CheckpointModelInfo
    public let file: URL

    /// The path prefixes of the model's own parameters; a run checkpoint also holds strategy
    /// modules (discriminators) and optimizer state, which inference leaves alone.
    static let modelPrefixes = ["features", "bottleneck", "classifier"]

    /// Reads `url`'s model description, builds the model and loads its weights (every model
    /// parameter must be there with its shape). Throws `ExperimentError.invalid` for a checkpoint
    /// that does not describe its model, `HDF5Error` for an unreadable file or mismatched weights.
    public static func load(_ url: URL) throws -> TrainedModel {
        let (tensors, order, metadata) = try Checkpoint.readAll(from: url)
        let info = try CheckpointModelInfo(metadata: metadata, file: url.path)
        var rng = SeededGenerator(seed: 0)
        let model: AdaptationModel
        do {
            model = try AdaptationModel.make(inputShape: info.inputShape, classCount: info.classCount, spec: info.spec, rng: &rng)
        } catch let error as ModelSpecError {
            throw ExperimentError.invalid("\(url.path): the model it describes cannot be built: \(error)")
        }
        try Checkpoint.assign(tensors, order: order, into: model.state, file: url.path, only: modelPrefixes.filter { prefix in
            model.state.contains { pathHasPrefix($0.path, prefix) }
        }, strict: true)
        return TrainedModel(model: model, info: info, file: url)
    }

    /// What the model is given for raw inputs `x`: checks one sample's shape against the
    /// checkpoint's, then applies the run's input standardisation (for `per_domain`, the statistics
    /// of `domain`; the target's unless the inputs are a source split).
    public func prepareInputs(_ x: Tensor, origin: String, domain: PredictionInputs.Domain = .target) throws -> Tensor {
        let sample = Array(x.shape.dropFirst())
        guard x.rank >= 2, sample == info.inputShape else {
            throw ExperimentError.invalid(
                "\(origin) holds samples of shape \(sample) (dataset shape \(x.shape)) but the model in \(file.lastPathComponent) takes samples of shape \(info.inputShape)")
        }
        guard let standardization = info.standardization else { return x }
        return (domain == .source ? standardization.source : standardization.target).apply(x)
    }
}
