import ArgumentParser
import Foundation
import HDF5Kit
import TensorCore

/// `dakit data`: look inside HDF5 files, generate domain datasets, import CSV / .npy.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect, generate and import domain datasets (HDF5).",
        discussion: """
            Layout: /source/x, /source/y, /target/x, optional /target/y, optional /source/val/{x,y} and \
            /target/test/{x,y}; root attributes class_names and shift. See README "Data and weights (HDF5)".
            """,
        subcommands: [DataInspect.self, DataMake.self, DataImport.self])
}

/// Runs `body`, turning an error into one line on stderr and an exit code: 2 for bad input (every
/// `HDF5Error` about a file's contents or an unwritable output), 1 for a failure inside libhdf5 that
/// no input explains. Other errors (Foundation's file errors) are printed as one plain line, with 2.
func reportingHDF5Errors(_ command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as HDF5Error {
        FileHandle.standardError.write(Data("\(CommandLineContext.current.toolName) \(command): \(error.description)\n".utf8))
        throw ExitCode(error.kind == .library ? 1 : 2)
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("\(CommandLineContext.current.toolName) \(command): \(oneLine(error))\n".utf8))
        throw ExitCode(2)
    }
}

/// An error as one plain line: Foundation's file errors by their path and reason, not their
/// NSCocoaErrorDomain dump.
func oneLine(_ error: Error) -> String {
    let nsError = error as NSError
    var text = nsError.localizedDescription
    if let path = nsError.userInfo[NSFilePathErrorKey] as? String ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path, !text.contains(path) {
        text = "\(path): \(text)"
    }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
        let code = POSIXErrorCode(rawValue: Int32(underlying.code))
    {
        text += " (\(String(cString: strerror(code.rawValue))))"
    }
    return text.split(whereSeparator: \.isNewline).joined(separator: " ")
}

struct DataInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print an HDF5 file's tree: shapes, dtypes, chunking, compression and attributes.")

    @Argument(help: "The HDF5 file.") var file: String
    @Flag(name: .customLong("validate"), help: "Also validate it as a domain dataset (labels, NaN/Inf, shapes).") var validateLayout = false

    func run() throws {
        try reportingHDF5Errors("data inspect") {
            let url = URL(fileURLWithPath: file)
            let h5 = try HDF5File(reading: url)
            for entry in try h5.tree() {
                let depth = max(0, entry.path.split(separator: "/").count - 1)
                let indent = String(repeating: "  ", count: depth)
                let name = entry.path == "/" ? "/" : String(entry.path.split(separator: "/").last!)
                switch entry.kind {
                case .group:
                    if let first = entry.sameAs {
                        print("\(indent)\(name)/  → hard link to \(first), listed above")
                        continue
                    }
                    print(entry.path == "/" ? "/" : "\(indent)\(name)/")
                case .dataset:
                    let info = entry.dataset!
                    var line = "\(indent)\(name)  \(info.elementType)  \(info.shape.map(String.init).joined(separator: "×"))"
                    if let chunks = info.chunkShape { line += "  chunks \(chunks.map(String.init).joined(separator: "×"))" }
                    if !info.filters.isEmpty { line += "  \(info.filters.joined(separator: " + "))" }
                    print(line)
                case .other: print("\(indent)\(name)  (not a group or dataset)")
                }
                for (key, value) in entry.attributes.sorted(by: { $0.key < $1.key }) {
                    var text = value.description
                    if text.count > 200 { text = String(text.prefix(200)) + "…" }
                    print("\(indent)  @\(key) = \(text)")
                }
            }
            if validateLayout {
                let data = try DomainDatasetFile.load(url)
                print("valid domain dataset: \(data.classCount) classes, source \(data.source.count), target \(data.target.count)"
                    + (data.sourceValidation.map { ", source/val \($0.count)" } ?? "") + (data.targetTest.map { ", target/test \($0.count)" } ?? "")
                    + ", sample shape \(data.sampleShape)")
            }
        }
    }
}

struct DataMake: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make", abstract: "Generate a domain dataset: moons, shifted or digits.",
        discussion: """
            moons: Ganin et al. 2016 two moons, target rotated by --rotation degrees (default 35).
            shifted: 2-D blobs under --shift covariate|target|conditional|subspace with --strength, --ratio, --classes.
            digits: UCI 8×8 digits (Datasets/digits8x8.h5), target shifted by --shift rotation|inversion|noise|blur|scale \
            with --amount (degrees, σ or factor).
            """)

    @Argument(help: "moons, shifted or digits.") var name: String
    @Option(name: .shortAndLong, help: "Output HDF5 file.") var output: String
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Samples per class (moons) or per domain (shifted).") var samples: Int?
    @Option(help: "Held-out samples per class (moons) or per split (shifted).") var testSamples: Int?
    @Option(help: "moons: target rotation in degrees.") var rotation: Float = 35
    @Option(help: "moons / shifted: Gaussian noise.") var noise: Float?
    @Option(help: "shifted: covariate, target, conditional, subspace; digits: rotation, inversion, noise, blur, scale.") var shift: String?
    @Option(help: "shifted: how far the target moves.") var strength: Float = 1
    @Option(help: "shifted (target shift): probability of class 0 in the target.") var ratio: Float = 0.9
    @Option(help: "shifted: number of classes.") var classes: Int = 2
    @Option(help: "digits: size of the shift (degrees, noise σ, blur σ or scale factor).") var amount: Float?
    @Option(help: "digits: path of digits8x8.h5 (default: Datasets/digits8x8.h5).") var base: String?

    func validate() throws {
        guard ["moons", "shifted", "digits"].contains(name) else {
            throw ValidationError("unknown dataset '\(name)'; known: moons, shifted, digits")
        }
        if let samples, samples <= 0 { throw ValidationError("--samples must be positive, got \(samples)") }
        if let testSamples, testSamples < 0 { throw ValidationError("--test-samples must be ≥ 0, got \(testSamples)") }
        if let noise, noise <= 0 { throw ValidationError("--noise must be positive, got \(noise)") }
        switch name {
        case "shifted":
            guard let shift, ShiftedGenerator.Shift(rawValue: shift) != nil else {
                throw ValidationError("shifted needs --shift one of \(ShiftedGenerator.Shift.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard classes >= 2 else { throw ValidationError("--classes must be ≥ 2, got \(classes)") }
            guard ratio > 0 && ratio < 1 else { throw ValidationError("--ratio must be in (0, 1), got \(ratio)") }
        case "digits":
            guard let shift, let kind = DigitsGenerator.Shift(rawValue: shift) else {
                throw ValidationError("digits needs --shift one of \(DigitsGenerator.Shift.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if kind == .scale, let amount, amount <= 0 { throw ValidationError("--amount (scale factor) must be positive, got \(amount)") }
            if kind == .noise || kind == .blur, let amount, amount < 0 { throw ValidationError("--amount must be ≥ 0, got \(amount)") }
        default: break
        }
    }

    func run() throws {
        try reportingHDF5Errors("data make") {
            let dataset: DomainDataset
            switch name {
            case "moons":
                dataset = MoonsGenerator.make(
                    samplesPerClass: samples ?? 150, rotationDegrees: rotation, noise: noise ?? 0.1,
                    testSamplesPerClass: testSamples ?? 500, seed: seed)
            case "shifted":
                dataset = ShiftedGenerator.make(
                    shift: ShiftedGenerator.Shift(rawValue: shift!)!, samples: samples ?? 200, testSamples: testSamples ?? 500,
                    classes: classes, strength: strength, ratio: ratio, noise: noise ?? 0.6, seed: seed)
            default:
                dataset = try DigitsGenerator.make(
                    shift: DigitsGenerator.Shift(rawValue: shift!)!, amount: amount, base: base.map { URL(fileURLWithPath: $0) }, seed: seed)
            }
            try DomainDatasetFile.save(dataset, to: URL(fileURLWithPath: output))
            print("wrote \(output): \(name), source \(dataset.source.count), target \(dataset.target.count), "
                + "sample shape \(dataset.sampleShape), \(dataset.classCount) classes; \(dataset.shiftDescription)")
        }
    }
}

struct DataImport: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "import", abstract: "Convert CSV or .npy files into the domain dataset layout.",
            discussion: """
                One HDF5 file per domain (--source a.h5 --target b.h5, each with /x and /y) is merged into the layout. \
                CSV: one sample per line, numbers only (a header line is skipped); the label is the last column unless \
                --label-column says otherwise. .npy: --source-x/--target-x hold inputs (N×…); --source-y/--target-y labels.
                Example: \(CommandLineContext.current.toolName) data import --source s.csv --target t.csv -o data.h5
                         \(CommandLineContext.current.toolName) data import --source-x xs.npy --source-y ys.npy --target-x xt.npy -o data.h5
                """)
    }

    @Option(help: "Source CSV (features and label), or a source HDF5 file with /x and /y.") var source: String?
    @Option(help: "Target CSV (features, and label unless --target-unlabelled), or a target HDF5 file with /x (and /y).") var target: String?
    @Option(help: "Label column of the CSV files (0-based; negative counts from the end).") var labelColumn: Int = -1
    @Flag(help: "The target CSV has no label column.") var targetUnlabelled = false
    @Option(help: "Source inputs (.npy).") var sourceX: String?
    @Option(help: "Source labels (.npy).") var sourceY: String?
    @Option(help: "Target inputs (.npy).") var targetX: String?
    @Option(help: "Target labels (.npy, optional).") var targetY: String?
    @Option(help: "Class names, comma-separated.") var classNames: String?
    @Option(help: "Free text describing the shift.") var shift: String = ""
    @Option(name: .shortAndLong, help: "Output HDF5 file.") var output: String

    func validate() throws {
        let csv = source != nil || target != nil
        let npy = sourceX != nil || sourceY != nil || targetX != nil || targetY != nil
        guard csv != npy else { throw ValidationError("give either --source/--target (CSV) or --source-x/--source-y/--target-x (.npy)") }
        if csv { guard source != nil, target != nil else { throw ValidationError("CSV import needs both --source and --target") } }
        if npy { guard sourceX != nil, sourceY != nil, targetX != nil else { throw ValidationError(".npy import needs --source-x, --source-y and --target-x") } }
    }

    func run() throws {
        try reportingHDF5Errors("data import") {
            let sourceSplit: DomainSplit
            let targetSplit: DomainSplit
            if let source, let target, [source, target].allSatisfy({ $0.hasSuffix(".h5") || $0.hasSuffix(".hdf5") }) {
                // One HDF5 file per domain (each with /x and /y) → the one-file layout.
                let dataset = try DomainDatasetFile.load(source: URL(fileURLWithPath: source), target: URL(fileURLWithPath: target))
                try DomainDatasetFile.save(dataset, to: URL(fileURLWithPath: output))
                print("wrote \(output): source \(dataset.source.count), target \(dataset.target.count), sample shape \(dataset.sampleShape), \(dataset.classCount) classes")
                return
            }
            if let source, let target {
                sourceSplit = try CSVTable.read(URL(fileURLWithPath: source), labelColumn: labelColumn)
                targetSplit = try CSVTable.read(URL(fileURLWithPath: target), labelColumn: targetUnlabelled ? nil : labelColumn)
            } else {
                func labels(_ path: String, count: Int) throws -> [Int] {
                    let t = try NumPyFile.read(URL(fileURLWithPath: path))
                    guard t.count == count else {
                        throw HDF5Error(.typeMismatch, file: path, reason: "has \(t.count) labels for \(count) samples")
                    }
                    if let bad = t.scalars.firstIndex(where: { $0.rounded() != $0 }) {
                        throw HDF5Error(.invalidData, file: path, reason: "label \(t.scalars[bad]) at index \(bad) is not a whole number")
                    }
                    return t.scalars.map { Int($0) }
                }
                let xs = try NumPyFile.read(URL(fileURLWithPath: sourceX!))
                let xt = try NumPyFile.read(URL(fileURLWithPath: targetX!))
                for (path, t) in [(sourceX!, xs), (targetX!, xt)] where t.rank < 2 {
                    throw HDF5Error(.typeMismatch, file: path, reason: "inputs must be N×features or N×C×H×W, got shape \(t.shape)")
                }
                sourceSplit = DomainSplit(x: xs, y: try labels(sourceY!, count: xs.shape[0]))
                targetSplit = DomainSplit(x: xt, y: try targetY.map { try labels($0, count: xt.shape[0]) })
            }
            guard sourceSplit.sampleShape == targetSplit.sampleShape else {
                throw HDF5Error(.typeMismatch, file: output,
                    reason: "source samples have shape \(sourceSplit.sampleShape) but target samples \(targetSplit.sampleShape)")
            }
            let largest = max(sourceSplit.y?.max() ?? 0, targetSplit.y?.max() ?? 0)
            let names = classNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? (0...largest).map(String.init)
            let dataset = DomainDataset(source: sourceSplit, target: targetSplit, classNames: names, shiftDescription: shift)
            // The same checks as loading (labels in range, no NaN/Inf), before anything is written.
            try DomainDatasetFile.validate(dataset, file: output)
            try DomainDatasetFile.save(dataset, to: URL(fileURLWithPath: output))
            print("wrote \(output): source \(sourceSplit.count), target \(targetSplit.count), sample shape \(sourceSplit.sampleShape), \(names.count) classes")
        }
    }
}
