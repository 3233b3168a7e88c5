import ArgumentParser
import Experiments
import Foundation
import HDF5Kit
import NN

/// `dakit weights export CHECKPOINT --to pytorch|keras -o FILE`: a run's model in another framework's layout.
struct WeightsExport: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "export",
            abstract: "Export a run checkpoint's model as a PyTorch state dict (HDF5) or a Keras 3 .weights.h5 file.",
            discussion: """
                pytorch: one dataset per state-dict key (features.0.weight as /features/0/weight; BatchNorm \
                gamma/beta as weight/bias, running statistics, num_batches_tracked), as \
                Datasets/export_pytorch_weights.py writes and `weights import --from pytorch` reads. Load it with:
                  import h5py, torch; f = h5py.File("model.h5")
                  model.load_state_dict({k: torch.from_numpy(f[k.replace(".", "/")][()]) for k in f.attrs["keys"]})
                (Datasets/check_pytorch_export.py builds the matching torch.nn model and checks its outputs.)
                keras: the Keras 3 layout /layers/<name>/vars/<i> (Dense kernels in×out, Conv2D KH×KW×C×O, \
                a Dense after Flatten reordered to channels-last), as `weights import --from keras` reads.
                Exit codes: 0 success; 2 bad input (a checkpoint that does not describe its model).
                """)
    }

    enum Format: String, ExpressibleByArgument, CaseIterable { case pytorch, keras }

    @Argument(help: "The run's checkpoint.h5.") var checkpoint: String
    @Option(help: "pytorch or keras.") var to: Format
    @Option(name: .shortAndLong, help: "Output file (.h5; for keras, .weights.h5).") var output: String

    func run() throws {
        try reportingBadInput("weights export") {
            let trained = try TrainedModel.load(URL(fileURLWithPath: checkpoint))
            let model = trained.model
            let url = URL(fileURLWithPath: output)
            switch to {
            case .pytorch:
                try PyTorchWeights.export(model.state, to: url, metadata: trained.info.metadata)
                print("wrote \(output): PyTorch state dict, \(model.state.count) tensors")
            case .keras:
                var roots: [(prefix: String, layer: any Layer)] = [("features", model.featureExtractor)]
                if let bottleneck = model.bottleneck { roots.append(("bottleneck", bottleneck)) }
                roots.append(("classifier", model.classifier))
                let mappings = try KerasWeights.export(roots, inputShape: trained.info.inputShape, to: url)
                for mapping in mappings { print("  \(mapping.modelPath) → \(mapping.fileLayer)\(mapping.permutedFlattenInput ? " (input rows reordered CHW→HWC)" : "")") }
                print("wrote \(output): Keras 3 weights, \(mappings.count) layers")
            }
        }
    }
}
