import ArgumentParser
import Experiments
import Foundation

/// `dakit evaluate CHECKPOINT DATA.h5`: a run's model measured on labelled data.
struct EvaluateCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "evaluate",
            abstract: "Measure a run's checkpoint on labelled data: accuracy, macro-F1, per-class report, confusion matrix.",
            discussion: """
                Reads the inputs and labels of a domain dataset file's --split (default target: /target/x and \
                /target/y), or any --x and --y datasets. Per class: precision, recall (the class's accuracy), F1 \
                and support, under the class names the checkpoint records. Exit codes: 0 success; 2 bad input \
                (a checkpoint that does not describe its model, inputs of the wrong shape, missing datasets or labels).
                """)
    }

    @Argument(help: "The run's checkpoint.h5 (last step) or selected.h5 (the checkpoint a selection rule picked).") var checkpoint: String
    @Argument(help: "The data file (.h5).") var data: String
    @Option(help: "Split of a domain dataset file: source, target, sourceValidation or targetTest.") var split: String = "target"
    @Option(help: "Dataset holding the inputs, instead of the split's x.") var x: String?
    @Option(help: "Dataset holding the labels, instead of the split's y.") var y: String?

    func validate() throws {
        if x != nil && y == nil { throw ValidationError("--x needs --y: evaluate compares predictions with labels") }
    }

    func run() throws {
        try reportingBadInput("evaluate") {
            let trained = try TrainedModel.load(URL(fileURLWithPath: checkpoint))
            let inputs = try PredictionInputs.read(URL(fileURLWithPath: data), split: split, xPath: x, yPath: y)
            print(try trained.evaluate(inputs).text, terminator: "")
        }
    }
}
