public import Foundation
public import WardenJSON

/// A test case carried by a policy (`tests:`) or a cases file: calls with the decision the
/// last of them must get.
public struct PolicyTestCase: Sendable {
    /// The case's name, shown in the report (defaults to its pointer).
    public var name: String
    /// Where the case is written.
    public var pointer: JSONPointer
    /// The file the case comes from, if any.
    public var file: String?
    /// The call, made `repeat` times at the same instant.
    public var call: ToolCall
    /// How many identical calls to make; the last one's decision is checked. The default is 1.
    public var repeatCount: Int
    /// The instant of the calls, or `nil` for the time the tests run.
    public var at: Date?
    /// The decision the last call must get.
    public var expectedOutcome: Decision.Outcome
    /// The rule the last call must be decided by (`/tools/x/limits/0`, `(default deny)`), if given.
    public var expectedRule: String?

    public init(
        name: String,
        pointer: JSONPointer,
        file: String? = nil,
        call: ToolCall,
        repeatCount: Int = 1,
        at: Date? = nil,
        expectedOutcome: Decision.Outcome,
        expectedRule: String? = nil
    ) {
        self.name = name
        self.pointer = pointer
        self.file = file
        self.call = call
        self.repeatCount = repeatCount
        self.at = at
        self.expectedOutcome = expectedOutcome
        self.expectedRule = expectedRule
    }
}
