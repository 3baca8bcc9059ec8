/// The same simulation as ``RegexProgram``'s, for programs of at most 63 consuming
/// instructions (nearly every pattern in a policy): the set of live threads is one 64-bit
/// word, and the moves without consuming (splits, jumps, assertions) are worked out when the
/// pattern is compiled, once per kind of position. Each scalar of the string then costs a
/// table lookup, an AND, and an OR per live thread that accepts it: still linear, with a far
/// smaller constant.
struct RegexBitParallel: Sendable {
    /// The bit of the match, beside the consuming instructions' bits 0...62.
    static let matchBit: UInt64 = 1 << 63

    /// The instruction of each bit.
    private let instructions: [RegexProgram.Instruction]
    private let sets: [ScalarSet]
    /// `follow[bit * contexts + context]`: the threads reached after the instruction of `bit`
    /// consumes a scalar, at a position of that context (see ``context(previous:next:)``).
    private let follow: [UInt64]
    /// `start[context]`: the threads a thread started at a position of that context reaches.
    private let start: [UInt64]
    /// `ascii[scalar]`: the bits whose instruction accepts that ASCII scalar.
    private let ascii: [UInt64]
    /// How many kinds of position the pattern tells apart: 16 with a word boundary, 4 with
    /// only `^` or `$` (at the start, at the end), else 1.
    private let contexts: Int
    private let anchored: Bool

    /// The fast form of `program`, or `nil` when it has more than 63 consuming instructions.
    init?(_ program: RegexProgram) {
        let code = program.instructions
        var bitOfPC = [Int](repeating: -1, count: code.count)
        var instructions: [RegexProgram.Instruction] = []
        var hasAnchor = false
        var hasWordBoundary = false
        for (pc, instruction) in code.enumerated() {
            switch instruction.opcode {
            case .scalar, .set:
                guard instructions.count < 63 else { return nil }
                bitOfPC[pc] = instructions.count
                instructions.append(instruction)
            case .assert:
                switch RegexAssertion(rawValue: UInt8(instruction.a)) {
                case .start, .end: hasAnchor = true
                default: hasWordBoundary = true
                }
            case .split, .jump, .match:
                break
            }
        }
        let contexts = hasWordBoundary ? 16 : (hasAnchor ? 4 : 1)

        /// The threads reached from `pc` without consuming, at a position of `context`.
        func closure(from pc: Int, context: Int) -> UInt64 {
            var mask: UInt64 = 0
            var seen = [Bool](repeating: false, count: code.count)
            var pending = [pc]
            while let pc = pending.popLast() {
                guard !seen[pc] else { continue }
                seen[pc] = true
                let instruction = code[pc]
                switch instruction.opcode {
                case .scalar, .set: mask |= 1 << UInt64(bitOfPC[pc])
                case .match: mask |= Self.matchBit
                case .split: pending += [Int(instruction.b), Int(instruction.a)]
                case .jump: pending.append(Int(instruction.a))
                case .assert:
                    if Self.holds(RegexAssertion(rawValue: UInt8(instruction.a)), in: context) { pending.append(pc + 1) }
                }
            }
            return mask
        }

        var follow: [UInt64] = []
        follow.reserveCapacity(instructions.count * contexts)
        for (pc, bit) in bitOfPC.enumerated() where bit >= 0 {
            for context in 0..<contexts { follow.append(closure(from: pc + 1, context: context)) }
        }
        self.instructions = instructions
        self.sets = program.sets
        self.follow = follow
        self.start = (0..<contexts).map { closure(from: 0, context: $0) }
        self.contexts = contexts
        self.anchored = program.anchoredAtStart
        var ascii = [UInt64](repeating: 0, count: 128)
        for value in 0..<128 {
            for (bit, instruction) in instructions.enumerated() where Self.accepts(instruction, UInt32(value), program.sets) {
                ascii[value] |= 1 << UInt64(bit)
            }
        }
        self.ascii = ascii
    }

    private static func accepts(_ instruction: RegexProgram.Instruction, _ value: UInt32, _ sets: [ScalarSet]) -> Bool {
        instruction.opcode == .scalar ? UInt32(bitPattern: instruction.a) == value : sets[Int(instruction.a)].contains(value)
    }

    /// Whether `assertion` holds at a position of `context`.
    private static func holds(_ assertion: RegexAssertion?, in context: Int) -> Bool {
        switch assertion {
        case .start: context & 1 != 0
        case .end: context & 2 != 0
        case .wordBoundary: (context & 4 != 0) != (context & 8 != 0)
        case .notWordBoundary: (context & 4 != 0) == (context & 8 != 0)
        case nil: false
        }
    }

    /// The kind of a position, by what is around it: at the start, at the end, after a word
    /// character, before one.
    @inline(__always)
    private func context(previous: UInt32, next: UInt32) -> Int {
        guard contexts > 1 else { return 0 }
        var context = (previous == Self.none ? 1 : 0) | (next == Self.none ? 2 : 0)
        if contexts > 4 {
            if previous != Self.none, ScalarSet.isWordCharacter(previous) { context |= 4 }
            if next != Self.none, ScalarSet.isWordCharacter(next) { context |= 8 }
        }
        return context
    }

    private static let none = UInt32.max

    /// Whether the pattern matches somewhere in `string`; `budget` bounds the steps (a step:
    /// one scalar, or one live thread that accepts it).
    func search(_ string: String, budget: Int) -> RegexProgram.SearchResult {
        var iterator = string.unicodeScalars.makeIterator()
        var previous = Self.none
        var scalar = iterator.next()?.value ?? Self.none
        var state = start[context(previous: previous, next: scalar)]
        if state & Self.matchBit != 0 { return .match }
        var steps = 0
        return follow.withUnsafeBufferPointer { follow in
            ascii.withUnsafeBufferPointer { ascii in
                while scalar != Self.none {
                    let consumed = scalar
                    previous = consumed
                    scalar = iterator.next()?.value ?? Self.none
                    var accepted = state & (consumed < 128 ? ascii[Int(consumed)] : acceptedBeyondASCII(consumed, of: state))
                    let context = context(previous: previous, next: scalar)
                    state = anchored ? 0 : start[context]
                    steps += 1 + accepted.nonzeroBitCount
                    while accepted != 0 {
                        let bit = accepted.trailingZeroBitCount
                        accepted &= accepted - 1
                        state |= follow[bit * contexts + context]
                    }
                    if state & Self.matchBit != 0 { return .match }
                    if anchored, state == 0 { return .noMatch }
                    if steps > budget { return .limitExceeded }
                }
                return .noMatch
            }
        }
    }

    /// The live threads of `state` that accept a scalar beyond ASCII.
    private func acceptedBeyondASCII(_ value: UInt32, of state: UInt64) -> UInt64 {
        var result: UInt64 = 0
        var live = state & ~Self.matchBit
        while live != 0 {
            let bit = live.trailingZeroBitCount
            live &= live - 1
            if Self.accepts(instructions[bit], value, sets) { result |= 1 << UInt64(bit) }
        }
        return result
    }
}
