import Foundation

/// A built command-line executable (`dakit`, or a link to it under another name) run as a child
/// process in a folder: how the command-line tests get in.
struct DakitProcess {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    let process: Process
    private let out = Pipe()
    private let err = Pipe()

    /// Starts `executable` with `arguments` in `folder`, with `environment` added to this process's
    /// environment; `finish()` collects what it printed.
    init(_ executable: URL, _ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    /// Waits for the process and returns its status and output.
    func finish() -> Output {
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `executable` to the end.
    static func run(_ executable: URL, _ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws -> Output {
        try DakitProcess(executable, arguments, in: folder, environment: environment).finish()
    }
}
