import Foundation

/// The one naming convention of DAKit's result files: every key of `report.json`, `summary.json`
/// and `plan.json` is snake_case, as are the columns of `summary.csv`, `metrics.csv` and the
/// prediction files (`target_accuracy`, `per_class_f1`, `learning_rate`, `sweep_key`).
///
/// Swift properties stay camelCase; the encoder converts them, so a new field follows the
/// convention without a hand-written coding key. Keys that are data rather than field names are
/// left as they are: loss and diagnostic names (`source.crossEntropy`, `dann.lambda`) and the
/// recipe's own keys in `resolved_recipe`.
///
/// The decoder reads both these files and those written before the convention (camelCase nested
/// keys), so `compare --collect` still reads older run folders.
public enum ResultJSON {
    /// Pretty, sorted, snake_case; non-finite numbers as the strings `nan`, `inf`, `-inf`.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// Reads what `encoder()` writes.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
