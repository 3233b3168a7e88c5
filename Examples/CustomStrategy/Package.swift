// swift-tools-version:6.0
// A user's own package: one new strategy, registered next to DAKit's, run from a recipe.
import Foundation
import PackageDescription

// A path dependency is identified by its folder name (the DAKit checkout may be called anything);
// from elsewhere use `.package(url: "<DAKit git URL>", branch: "main")` and `package: "DAKit"`.
let dakitFolder = URL(fileURLWithPath: Context.packageDirectory).appendingPathComponent("../..").standardizedFileURL.lastPathComponent

let package = Package(
    name: "CustomStrategy",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "custom-dakit",
            dependencies: [.product(name: "DAKit", package: dakitFolder), .product(name: "DAKitCLI", package: dakitFolder)],
            path: "Sources/CustomStrategy"),
    ]
)
