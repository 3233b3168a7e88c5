// swift-tools-version:6.0
// A user's own package: one new strategy, registered next to DAKit's, run from a recipe.
import PackageDescription

let package = Package(
    name: "CustomStrategy",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: "../.."),  // DAKit; from elsewhere: .package(url: "<DAKit git URL>", branch: "main")
    ],
    targets: [
        .executableTarget(
            name: "custom-dakit",
            dependencies: [.product(name: "DAKit", package: "DAKit")],
            path: "Sources/CustomStrategy"),
    ]
)
