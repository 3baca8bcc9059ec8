import WardenCLI

await Warden.runAndExit()
