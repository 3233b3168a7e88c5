/// DAKit's version, written into checkpoints and reports.
public enum DAKitVersion {
    public static let string = "0.1.0"
}
