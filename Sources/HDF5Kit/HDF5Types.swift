import CHDF5
import Foundation

/// The element type of a dataset or attribute as stored in the file.
public enum HDF5ElementType: Equatable, Sendable, CustomStringConvertible {
    case integer(bytes: Int, signed: Bool)
    case float(bytes: Int)
    /// A string; `length` nil means variable length.
    case string(length: Int?)
    /// Anything else (compound, enum, reference...), named by its HDF5 class.
    case other(String)

    public var description: String {
        switch self {
        case .integer(let bytes, let signed): return "\(signed ? "int" : "uint")\(bytes * 8)"
        case .float(let bytes): return "float\(bytes * 8)"
        case .string(let length): return length.map { "string[\($0)]" } ?? "string(variable)"
        case .other(let name): return name
        }
    }

    public var isNumeric: Bool {
        switch self {
        case .integer, .float: return true
        default: return false
        }
    }

    /// Reads the type behind an open HDF5 datatype identifier.
    static func from(typeID: hid_t) -> HDF5ElementType {
        let size = Int(H5Tget_size(typeID))
        switch H5Tget_class(typeID) {
        case H5T_INTEGER: return .integer(bytes: size, signed: H5Tget_sign(typeID) != H5T_SGN_NONE)
        case H5T_FLOAT: return .float(bytes: size)
        case H5T_STRING: return .string(length: H5Tis_variable_str(typeID) > 0 ? nil : size)
        case H5T_COMPOUND: return .other("compound")
        case H5T_ENUM: return .other("enum")
        case H5T_ARRAY: return .other("array")
        case H5T_VLEN: return .other("vlen")
        case H5T_REFERENCE: return .other("reference")
        case H5T_OPAQUE: return .other("opaque")
        case H5T_BITFIELD: return .other("bitfield")
        default: return .other("unknown")
        }
    }
}

/// The element types DAKit writes. Files are written little-endian whatever the machine.
public enum HDF5StorageType: String, Sendable, CaseIterable {
    case int8, uint8, int16, int32, int64, float32, float64

    var fileType: hid_t {
        switch self {
        case .int8: return dakit_H5T_STD_I8LE()
        case .uint8: return dakit_H5T_STD_U8LE()
        case .int16: return dakit_H5T_STD_I16LE()
        case .int32: return dakit_H5T_STD_I32LE()
        case .int64: return dakit_H5T_STD_I64LE()
        case .float32: return dakit_H5T_IEEE_F32LE()
        case .float64: return dakit_H5T_IEEE_F64LE()
        }
    }
}

/// The value of an attribute. Scalars and one-dimensional arrays are distinguished the way the
/// file stores them (a scalar dataspace or a simple one).
public enum HDF5AttributeValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case strings([String])
    case integer(Int)
    case integers([Int])
    case double(Double)
    case doubles([Double])

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .strings(let s): return "[" + s.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case .integer(let v): return String(v)
        case .integers(let v): return "[" + v.map(String.init).joined(separator: ", ") + "]"
        case .double(let v): return String(v)
        case .doubles(let v): return "[" + v.map { String($0) }.joined(separator: ", ") + "]"
        }
    }

    /// The value as text: a string as is, a string array comma-joined, a number printed.
    public var text: String {
        switch self {
        case .string(let s): return s
        case .strings(let s): return s.joined(separator: ",")
        default: return description
        }
    }

    /// The value as a list of strings: a string array as is, a single string split at commas.
    public var stringList: [String] {
        switch self {
        case .strings(let s): return s
        case .string(let s): return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        default: return [text]
        }
    }

    /// The value as one integer, if it is one (or a one-element array of one).
    public var intValue: Int? {
        switch self {
        case .integer(let v): return v
        case .integers(let v) where v.count == 1: return v[0]
        case .double(let v) where v.rounded() == v: return Int(v)
        case .string(let s): return Int(s)
        default: return nil
        }
    }
}
