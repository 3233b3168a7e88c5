import Foundation
import TensorCore

/// A reader for NumPy `.npy` files (format versions 1, 2 and 3).
///
/// The header is a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
/// Supported element types: little/big-endian floats (`f4`, `f8`, `f2`), signed and unsigned
/// integers of 1, 2, 4, 8 bytes and booleans (`b1`). Fortran-ordered arrays are transposed to row-major.
public enum NumPyFile {
    public static func read(_ url: URL) throws -> Tensor {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error(.fileNotFound, file: path, reason: "no such file") }
        let data = try Data(contentsOf: url)
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw HDF5Error(.notHDF5, file: path, reason: "not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw HDF5Error(.truncated, file: path, reason: ".npy header is truncated") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw HDF5Error(.notHDF5, file: path, reason: ".npy format version \(major) is not supported (1, 2, 3 are)")
        }
        guard bytes.count >= headerStart + headerLength else { throw HDF5Error(.truncated, file: path, reason: ".npy header is truncated") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let descr = try field(header, "descr", path: path)
        let fortran = try field(header, "fortran_order", path: path) == "True"
        let shapeText = try field(header, "shape", path: path)
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let payload = bytes[(headerStart + headerLength)...]

        guard descr.count >= 3, let size = Int(descr.dropFirst(2)) else {
            throw HDF5Error(.typeMismatch, file: path, reason: ".npy element type '\(descr)' is not supported")
        }
        let order = descr.first!
        let kind = descr[descr.index(after: descr.startIndex)]
        let bigEndian = order == ">"
        guard payload.count >= count * size else {
            throw HDF5Error(.truncated, file: path, reason: ".npy data is truncated: \(payload.count) bytes for \(count) values of \(size) bytes (shape \(shape))")
        }
        func raw(_ i: Int) -> UInt64 {
            var value: UInt64 = 0
            let base = payload.startIndex + i * size
            for b in 0..<size {
                let byte = UInt64(payload[base + (bigEndian ? size - 1 - b : b)])
                value |= byte << (8 * UInt64(b))
            }
            return value
        }
        var values = [Float](repeating: 0, count: count)
        switch (kind, size) {
        case ("f", 4): for i in 0..<count { values[i] = Float(bitPattern: UInt32(truncatingIfNeeded: raw(i))) }
        case ("f", 8): for i in 0..<count { values[i] = Float(Double(bitPattern: raw(i))) }
        case ("f", 2):
            #if arch(arm64) || arch(x86_64)
                for i in 0..<count { values[i] = Float(Float16(bitPattern: UInt16(truncatingIfNeeded: raw(i)))) }
            #endif
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8):
            let shift = UInt64(64 - 8 * size)
            for i in 0..<count { values[i] = Float(Int64(bitPattern: raw(i) << shift) >> Int64(shift)) }
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8), ("b", 1):
            for i in 0..<count { values[i] = Float(raw(i)) }
        default:
            throw HDF5Error(.typeMismatch, file: path, reason: ".npy element type '\(descr)' is not supported (floats, integers, booleans are)")
        }
        if fortran && shape.count > 1 {
            let reversed = Array(shape.reversed())
            return Tensor(shape: reversed, scalars: values).transposed(Array((0..<shape.count).reversed()))
        }
        return Tensor(shape: shape, scalars: values)
    }

    static func field(_ header: String, _ key: String, path: String) throws -> String {
        guard let keyRange = header.range(of: "'\(key)'"), let colon = header[keyRange.upperBound...].firstIndex(of: ":") else {
            throw HDF5Error(.typeMismatch, file: path, reason: ".npy header has no '\(key)': \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        var rest = header[header.index(after: colon)...].drop { $0 == " " }
        if rest.first == "'" {
            rest = rest.dropFirst()
            return String(rest.prefix { $0 != "'" })
        }
        if rest.first == "(" {
            return String(rest.dropFirst().prefix { $0 != ")" })
        }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }
}

/// Reads a CSV table of numbers into inputs and integer labels.
public enum CSVTable {
    /// - Parameters:
    ///   - labelColumn: index of the label column (negative counts from the end; default the last),
    ///     or nil for no labels.
    ///   - header: skip the first line; nil guesses (skip it when a field is not a number).
    public static func read(_ url: URL, labelColumn: Int? = -1, header: Bool? = nil, separator: Character = ",") throws -> DomainSplit {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error(.fileNotFound, file: path, reason: "no such file") }
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let first = lines.first else { throw HDF5Error(.invalidData, file: path, reason: "the CSV file is empty") }
        let firstFields = first.split(separator: separator, omittingEmptySubsequences: false)
        let skipHeader = header ?? firstFields.contains { Double($0.trimmingCharacters(in: .whitespaces)) == nil }
        if skipHeader { lines.removeFirst() }
        let columns = firstFields.count
        var label: Int? = nil
        if let labelColumn {
            let resolved = labelColumn < 0 ? columns + labelColumn : labelColumn
            guard (0..<columns).contains(resolved) else {
                throw HDF5Error(.invalidData, file: path, reason: "label column \(labelColumn) is outside the \(columns) columns")
            }
            label = resolved
        }
        guard columns - (label == nil ? 0 : 1) > 0 else { throw HDF5Error(.invalidData, file: path, reason: "no feature columns besides the label") }
        var features: [Float] = []
        var labels: [Int] = []
        for (number, line) in lines.enumerated() {
            let lineNumber = number + 1 + (skipHeader ? 1 : 0)
            let fields = line.split(separator: separator, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == columns else {
                throw HDF5Error(.invalidData, file: path, reason: "line \(lineNumber) has \(fields.count) fields, expected \(columns)")
            }
            for (column, field) in fields.enumerated() {
                guard let value = Double(field) else {
                    throw HDF5Error(.invalidData, file: path, reason: "line \(lineNumber), column \(column + 1): '\(field)' is not a number")
                }
                if column == label {
                    guard value.rounded() == value, value.isFinite else {
                        throw HDF5Error(.invalidData, file: path, reason: "line \(lineNumber): label '\(field)' is not a whole number")
                    }
                    labels.append(Int(value))
                } else {
                    features.append(Float(value))
                }
            }
        }
        let width = columns - (label == nil ? 0 : 1)
        return DomainSplit(x: Tensor(shape: [features.count / width, width], scalars: features), y: label == nil ? nil : labels)
    }
}
