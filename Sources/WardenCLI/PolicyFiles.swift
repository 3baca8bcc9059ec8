import ArgumentParser
import Foundation
import WardenPolicy

/// Reading policy and test-case files for the commands.
enum PolicyFiles {
    /// The bytes of `path`, or exit 2 with a message that names the file.
    static func read(_ path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw failure("cannot read \(path): no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot read \(path): permission denied or not a regular file")
        }
        return data
    }

    /// The policy in `path`, or exit 2 after printing every problem in it.
    static func loadPolicy(_ path: String) throws -> Policy {
        do {
            return try PolicyLoader.load(read(path), file: path)
        } catch let error as PolicyLoadError {
            printProblems(error, in: path)
            throw ExitCode(2)
        }
    }

    /// The test cases in `path`, or exit 2 after printing every problem in it.
    static func loadTestCases(_ path: String) throws -> [PolicyTestCase] {
        do {
            return try PolicyLoader.loadTestCases(read(path), file: path)
        } catch let error as PolicyLoadError {
            printProblems(error, in: path)
            throw ExitCode(2)
        }
    }

    private static func printProblems(_ error: PolicyLoadError, in path: String) {
        for problem in error.problems {
            printError(problem.description)
        }
        let count = error.problems.count
        printError("error: \(path) is not a valid policy file (\(count) problem\(count == 1 ? "" : "s"))")
    }
}
