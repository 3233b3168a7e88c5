import DAKitCLI

DAKitCLI.main(registry: .builtIn)
