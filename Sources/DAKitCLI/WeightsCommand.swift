import ArgumentParser
import Foundation
import HDF5Kit
import NN
import TensorCore

/// `dakit weights`: look inside weight files and convert Keras / PyTorch weights to DAKit checkpoints.
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Inspect weight files; import Keras or PyTorch weights as DAKit checkpoints, export a run checkpoint to them.",
        subcommands: [WeightsInspect.self, WeightsImport.self, WeightsExport.self])
}

struct WeightsInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the layers or parameters of a DAKit checkpoint, a PyTorch export or a Keras weights file.")

    @Argument(help: "The weights file (.h5).") var file: String

    func run() throws {
        try reportingHDF5Errors("weights inspect") {
            let url = URL(fileURLWithPath: file)
            let root = try HDF5File(reading: url).root
            if root.hasAttribute("layer_names") || root.contains("layers") || root.contains("model_weights") {
                let (format, layers) = try KerasWeights.read(url)
                print("\(file): \(format == "keras3" ? "Keras 3 .weights.h5" : "Keras 2 save_weights .h5"), \(layers.count) weighted layers (shapes in DAKit layout)")
                for layer in layers {
                    let shapes = layer.tensors.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value.shape)" }
                    print("  \(layer.name)  \(layer.kind.rawValue)  \(shapes.joined(separator: ", "))")
                }
                return
            }
            let (tensors, order, metadata) = try Checkpoint.readAll(from: url)
            let format = metadata["format"] ?? "HDF5 parameters"
            let total = tensors.values.reduce(0) { $0 + $1.count }
            print("\(file): \(format), \(order.count) tensors, \(total) values")
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "format" && key != "keys" {
                print("  @\(key) = \(value)")
            }
            for path in order { print("  \(path)  \(tensors[path]!.shape)") }
        }
    }
}

struct WeightsImport: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "import",
            abstract: "Convert Keras or PyTorch weights onto a DAKit model and save a DAKit checkpoint.",
            discussion: """
                The DAKit model is an extractor (`--arch mlp --hidden 64,32` or `--arch lenet`) followed by a classifier \
                head (`--classes K`), with parameter paths features.… and classifier.…, as `\(CommandLineContext.current.toolName) run` builds it. \
                Keras layers are matched to DAKit layers kind by kind, in order (kernels converted: Dense in×out → out×in, \
                Conv2D KH×KW×C×O → O×C×KH×KW, Flatten order HWC → CHW). PyTorch state dicts (written by \
                Datasets/export_pytorch_weights.py) are matched by path. --features-only imports the extractor and \
                leaves the head as initialised.
                Example: \(CommandLineContext.current.toolName) weights import --from keras model.weights.h5 --arch lenet --input-shape 1,28,28 --classes 10 -o pre.h5
                """)
    }

    @Option(help: "keras or pytorch.") var from: String
    @Argument(help: "The weights file to import.") var input: String
    @Option(help: "mlp or lenet.") var arch: String = "mlp"
    @Option(help: "One sample's shape, comma-separated (e.g. 2 or 1,28,28).") var inputShape: String
    @Option(help: "mlp: hidden sizes, comma-separated.") var hidden: String = "64"
    @Option(help: "lenet: feature size.") var featureSize: Int = 120
    @Option(help: "Number of classes of the head.") var classes: Int
    @Flag(help: "Import only the feature extractor (the head keeps its initial weights).") var featuresOnly = false
    @Option(help: "pytorch: prefix added to every state-dict key (e.g. features, for a bare nn.Sequential extractor).") var keyPrefix: String?
    @Option(help: "Seed for the layers that are not imported.") var seed: UInt64 = 0
    @Option(name: .shortAndLong, help: "Output DAKit checkpoint (.h5).") var output: String

    func parseList(_ text: String, _ option: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("\(option) must be positive integers separated by commas, got '\(text)'")
        }
        return values.map { $0! }
    }

    func validate() throws {
        guard ["keras", "pytorch"].contains(from) else { throw ValidationError("--from must be keras or pytorch, got '\(from)'") }
        guard ["mlp", "lenet"].contains(arch) else { throw ValidationError("--arch must be mlp or lenet, got '\(arch)'") }
        let shape = try parseList(inputShape, "--input-shape")
        if arch == "lenet" && shape.count != 3 { throw ValidationError("--arch lenet needs --input-shape C,H,W, got '\(inputShape)'") }
        _ = try parseList(hidden, "--hidden")
        guard classes >= 2 else { throw ValidationError("--classes must be ≥ 2, got \(classes)") }
        guard featureSize > 0 else { throw ValidationError("--feature-size must be positive, got \(featureSize)") }
    }

    func run() throws {
        try reportingHDF5Errors("weights import") {
            let shape = try parseList(inputShape, "--input-shape")
            var rng = SeededGenerator(seed: seed).fork("init")
            let extractor = arch == "lenet"
                ? Architecture.lenet(inputShape: shape, featureSize: featureSize, rng: &rng)
                : Architecture.mlp(inputShape: shape, hidden: try parseList(hidden, "--hidden"), rng: &rng)
            let head = Architecture.classifier(featureSize: extractor.featureSize, classCount: classes, rng: &rng)
            func prefixed(_ prefix: String, _ layer: any Layer) -> [NamedParameter] {
                layer.state.map { NamedParameter(path: "\(prefix).\($0.path)", parameter: $0.parameter) }
            }
            let state = prefixed("features", extractor.network) + prefixed("classifier", head)
            let url = URL(fileURLWithPath: input)
            if from == "keras" {
                let roots: [(prefix: String, layer: any Layer)] =
                    featuresOnly ? [("features", extractor.network)] : [("features", extractor.network), ("classifier", head)]
                let mappings = try KerasWeights.load(url, into: roots, inputShape: shape, strict: !featuresOnly)
                for mapping in mappings { print("  \(mapping)") }
            } else {
                try PyTorchWeights.load(url, into: state, keyPrefix: keyPrefix, only: featuresOnly ? ["features"] : nil, strict: true)
            }
            try Checkpoint.save(state, to: URL(fileURLWithPath: output), metadata: [
                "imported_from": url.lastPathComponent, "imported_format": from, "architecture": arch,
                "input_shape": inputShape, "classes": String(classes), "features_only": String(featuresOnly),
            ])
            print("wrote \(output): \(state.count) tensors (\(featuresOnly ? "feature extractor imported, head initialised with seed \(seed)" : "all imported"))")
        }
    }
}
