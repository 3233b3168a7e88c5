import ArgumentParser
import Experiments
import Foundation

/// `dakit predict CHECKPOINT DATA.h5`: apply a trained model to new data.
struct PredictCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "predict",
            abstract: "Apply a run's checkpoint to data: logits, probabilities and predicted class per sample.",
            discussion: """
                The checkpoint (checkpoint.h5 or selected.h5 of `\(CommandLineContext.current.toolName) run`) describes its own model \
                (architecture, input shape, class names), so no recipe is needed. The inputs are a domain dataset \
                file's --split (default target: /target/x), or any dataset --x in any HDF5 file. Output: HDF5 \
                with datasets logits (N×K), probabilities (N×K), predictions (N) and, with --features, features \
                (N×F, the classifier's input); or, for a name ending in .csv, one row per sample: the predicted \
                class name, then one probability per class. Written atomically. Exit codes: 0 success; 2 bad input \
                (a checkpoint that does not describe its model, inputs of the wrong shape, a missing dataset).
                """)
    }

    @Argument(help: "The run's checkpoint.h5 (last step) or selected.h5 (the checkpoint a selection rule picked).") var checkpoint: String
    @Argument(help: "The data file (.h5).") var data: String
    @Option(name: .shortAndLong, help: "Output file: .h5 or .csv.") var output: String = "predictions.h5"
    @Flag(help: "Also write the classifier's input features (HDF5 output only).") var features = false
    @Option(help: "Split of a domain dataset file: source, target, sourceValidation or targetTest.") var split: String = "target"
    @Option(help: "Dataset holding the inputs (N×… samples), instead of the split's x.") var x: String?

    func validate() throws {
        if features && output.lowercased().hasSuffix(".csv") {
            throw ValidationError("--features needs an HDF5 output (-o NAME.h5); CSV holds class names and probabilities only")
        }
    }

    func run() throws {
        try reportingBadInput("predict") {
            let trained = try TrainedModel.load(URL(fileURLWithPath: checkpoint))
            let inputs = try PredictionInputs.read(URL(fileURLWithPath: data), split: split, xPath: x)
            let predictions = try trained.predict(inputs, features: features)
            try PredictionOutput.write(
                predictions, classNames: trained.info.classNames, source: inputs.origin, checkpoint: trained.file, to: URL(fileURLWithPath: output))
            print("wrote \(output): \(predictions.predictions.count) samples × \(trained.info.classCount) classes from \(inputs.origin)")
        }
    }
}

/// `reportingHDF5Errors`, with the `ExperimentError`s of prediction (a checkpoint that does not
/// describe its model, inputs of the wrong shape, a missing dataset) as one line and exit 2 too.
func reportingBadInput(_ command: String, _ body: () throws -> Void) throws {
    try reportingHDF5Errors(command) {
        do {
            try body()
        } catch let error as ExperimentError {
            FileHandle.standardError.write(Data("\(CommandLineContext.current.toolName) \(command): \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
