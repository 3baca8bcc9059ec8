/// A pattern compiled to a Thompson NFA, and its matcher: a simulation of every thread at
/// once (Thompson/Pike), so matching takes time proportional to the program's size times the
/// string's length, whatever the pattern and the string. Nothing backtracks.
struct RegexProgram: Sendable {
    enum Opcode: UInt8, Sendable {
        /// Consumes the scalar `a`.
        case scalar
        /// Consumes a scalar of `sets[a]`.
        case set
        /// Continues at `a` and at `b`.
        case split
        /// Continues at `a`.
        case jump
        /// Continues at the next instruction if the assertion `a` holds here.
        case assert
        /// The pattern has matched.
        case match
    }

    struct Instruction: Sendable {
        var opcode: Opcode
        var a: Int32
        var b: Int32
    }

    private(set) var instructions: [Instruction] = []
    private(set) var sets: [ScalarSet] = []
    /// Every match starts at the start of the string (`^...`), so no thread starts later.
    private(set) var anchoredAtStart = false
    /// The same program as one 64-bit state, when it is small enough (see ``RegexBitParallel``).
    private(set) var bitParallel: RegexBitParallel?
    /// What a match can start with, when that needs no assertion: while no thread is alive,
    /// the search skips the scalars no match starts with. `nil` when any scalar may start one.
    private(set) var firstScalars: FirstScalars?

    /// The scalars a match can start with: the consuming instructions a new thread reaches.
    struct FirstScalars: Sendable {
        /// The instructions (`scalar` or `set`) a thread started anywhere reaches first.
        var instructions: [Int32]
        /// Which ASCII scalars one of them accepts.
        var asciiLow: UInt64 = 0
        var asciiHigh: UInt64 = 0
    }

    /// How a search ended.
    enum SearchResult: Sendable, Equatable {
        case match
        case noMatch
        /// The search would have taken more than its budget of steps.
        case limitExceeded
    }

    // MARK: - Compiling

    /// Compiles `node`; throws when the program would exceed ``RegexLimits/maxProgramSize``.
    static func compile(_ node: RegexNode) throws(RegexSyntaxError) -> RegexProgram {
        let size = Self.size(of: node)
        if size >= RegexLimits.maxProgramSize {
            throw RegexSyntaxError(
                offset: 0,
                message: "the pattern is too large: its repetitions expand to more than \(RegexLimits.maxProgramSize) states")
        }
        var program = RegexProgram()
        program.instructions.reserveCapacity(size + 1)
        program.emit(node)
        program.instructions.append(Instruction(opcode: .match, a: 0, b: 0))
        program.anchoredAtStart = Self.isAnchoredAtStart(node)
        program.firstScalars = program.computeFirstScalars()
        program.bitParallel = RegexBitParallel(program)
        return program
    }

    /// The instructions reachable from the start without consuming, if none is an assertion
    /// or the match (then a thread may start, or match, anywhere).
    private func computeFirstScalars() -> FirstScalars? {
        var seen = Set<Int32>()
        var pending: [Int32] = [0]
        var first = FirstScalars(instructions: [])
        while let pc = pending.popLast() {
            guard seen.insert(pc).inserted else { continue }
            let instruction = instructions[Int(pc)]
            switch instruction.opcode {
            case .scalar, .set: first.instructions.append(pc)
            case .split: pending += [instruction.b, instruction.a]
            case .jump: pending.append(instruction.a)
            case .assert, .match: return nil
            }
        }
        for value in UInt32(0)..<128 where first.instructions.contains(where: { accepts(Int($0), value) }) {
            if value < 64 { first.asciiLow |= 1 << UInt64(value) } else { first.asciiHigh |= 1 << UInt64(value - 64) }
        }
        return first
    }

    /// Whether the consuming instruction at `pc` accepts the scalar `value`.
    private func accepts(_ pc: Int, _ value: UInt32) -> Bool {
        let instruction = instructions[pc]
        switch instruction.opcode {
        case .scalar: return UInt32(bitPattern: instruction.a) == value
        case .set: return sets[Int(instruction.a)].contains(value)
        default: return false
        }
    }

    /// The number of instructions `node` compiles to, saturating at the limit.
    private static func size(of node: RegexNode) -> Int {
        let cap = RegexLimits.maxProgramSize
        func add(_ a: Int, _ b: Int) -> Int { min(a + b, cap) }
        func multiply(_ a: Int, _ b: Int) -> Int { a == 0 || b == 0 ? 0 : (a > cap / b ? cap : min(a * b, cap)) }
        switch node {
        case .empty: return 0
        case .scalar, .set, .assertion: return 1
        case .concatenation(let items): return items.reduce(0) { add($0, size(of: $1)) }
        case .alternation(let branches): return branches.reduce(2 * (branches.count - 1)) { add($0, size(of: $1)) }
        case .repetition(let inner, let minimum, let maximum):
            let body = size(of: inner)
            guard let maximum else { return minimum == 0 ? add(body, 2) : add(multiply(body, minimum), 1) }
            return add(multiply(body, minimum), multiply(body + 1, maximum - minimum))
        }
    }

    private static func isAnchoredAtStart(_ node: RegexNode) -> Bool {
        switch node {
        case .assertion(.start): true
        case .concatenation(let items): items.first.map(isAnchoredAtStart) ?? false
        case .alternation(let branches): branches.allSatisfy(isAnchoredAtStart)
        case .repetition(let inner, let minimum, _): minimum > 0 && isAnchoredAtStart(inner)
        default: false
        }
    }

    private var next: Int32 { Int32(instructions.count) }

    private mutating func append(_ opcode: Opcode, _ a: Int32 = 0, _ b: Int32 = 0) -> Int {
        instructions.append(Instruction(opcode: opcode, a: a, b: b))
        return instructions.count - 1
    }

    private mutating func emit(_ node: RegexNode) {
        switch node {
        case .empty:
            break
        case .scalar(let value):
            _ = append(.scalar, Int32(bitPattern: value))
        case .set(let set):
            let index: Int
            if let existing = sets.firstIndex(of: set) {
                index = existing
            } else {
                sets.append(set)
                index = sets.count - 1
            }
            _ = append(.set, Int32(index))
        case .assertion(let assertion):
            _ = append(.assert, Int32(assertion.rawValue))
        case .concatenation(let items):
            for item in items { emit(item) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (offset, branch) in branches.enumerated() {
                if offset == branches.count - 1 {
                    emit(branch)
                } else {
                    let split = append(.split)
                    instructions[split].a = next
                    emit(branch)
                    jumps.append(append(.jump))
                    instructions[split].b = next
                }
            }
            for jump in jumps { instructions[jump].a = next }
        case .repetition(let inner, let minimum, let maximum):
            if let maximum {
                for _ in 0..<minimum { emit(inner) }
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    let split = append(.split)
                    instructions[split].a = next
                    splits.append(split)
                    emit(inner)
                }
                for split in splits { instructions[split].b = next }
            } else if minimum == 0 {
                let loop = append(.split)
                instructions[loop].a = next
                emit(inner)
                _ = append(.jump, Int32(loop))
                instructions[loop].b = next
            } else {
                for _ in 0..<(minimum - 1) { emit(inner) }
                let body = next
                emit(inner)
                let split = append(.split, body)
                instructions[split].b = next
            }
        }
    }

    // MARK: - Matching

    /// No scalar: before the start or after the end of the string.
    private static let none = UInt32.max

    /// Whether the pattern matches somewhere in `string`, within `budget` steps (one step is
    /// one instruction visited at one position). Small programs run bit-parallel, unless
    /// `general` asks for the general simulation (tests compare the two).
    func search(_ string: String, budget: Int, general: Bool = false) -> SearchResult {
        if !general, let bitParallel { return bitParallel.search(string, budget: budget) }
        let count = instructions.count
        return instructions.withUnsafeBufferPointer { code in
            sets.withUnsafeBufferPointer { sets in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: 4 * count + 2) { lists in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: count) { marks in
                        marks.initialize(repeating: 0)
                        var state = Simulation(
                            code: code.baseAddress!, sets: sets.baseAddress, marks: marks.baseAddress!,
                            stack: lists.baseAddress! + 2 * count, first: anchoredAtStart ? nil : firstScalars)
                        return state.run(
                            string, current: lists.baseAddress!, next: lists.baseAddress! + count,
                            anchored: anchoredAtStart, budget: budget)
                    }
                }
            }
        }
    }

    /// The state of one search.
    private struct Simulation {
        let code: UnsafePointer<Instruction>
        let sets: UnsafePointer<ScalarSet>?
        /// `marks[pc] == generation`: `pc` is already on the list being built.
        let marks: UnsafeMutablePointer<UInt32>
        let stack: UnsafeMutablePointer<Int32>
        /// See ``RegexProgram/firstScalars``; `nil` for an anchored pattern.
        let first: FirstScalars?
        var generation: UInt32 = 0
        var steps = 0

        /// Whether a match can start with the scalar `value`.
        @inline(__always)
        func mayStart(with value: UInt32, _ first: FirstScalars) -> Bool {
            if value < 64 { return first.asciiLow & (1 << UInt64(value)) != 0 }
            if value < 128 { return first.asciiHigh & (1 << UInt64(value - 64)) != 0 }
            for pc in first.instructions {
                let instruction = code[Int(pc)]
                if instruction.opcode == .scalar ? UInt32(bitPattern: instruction.a) == value : sets![Int(instruction.a)].contains(value) {
                    return true
                }
            }
            return false
        }

        mutating func run(
            _ string: String,
            current: UnsafeMutablePointer<Int32>,
            next: UnsafeMutablePointer<Int32>,
            anchored: Bool,
            budget: Int
        ) -> SearchResult {
            var current = current
            var next = next
            var iterator = string.unicodeScalars.makeIterator()
            var previous = RegexProgram.none
            var scalar = iterator.next()?.value ?? RegexProgram.none
            if let first {
                // No thread is alive yet: skip to where a match can start.
                while scalar != RegexProgram.none, !mayStart(with: scalar, first) {
                    previous = scalar
                    scalar = iterator.next()?.value ?? RegexProgram.none
                    steps += 1
                }
            }
            generation = 1
            var currentCount = 0
            if add(0, to: current, count: &currentCount, previous: previous, next: scalar) { return .match }
            while scalar != RegexProgram.none {
                if steps > budget { return .limitExceeded }
                let consumed = scalar
                previous = consumed
                scalar = iterator.next()?.value ?? RegexProgram.none
                generation &+= 1
                var nextCount = 0
                for index in 0..<currentCount {
                    let pc = Int(current[index])
                    let instruction = code[pc]
                    let accepts: Bool
                    switch instruction.opcode {
                    case .scalar: accepts = UInt32(bitPattern: instruction.a) == consumed
                    case .set: accepts = sets![Int(instruction.a)].contains(consumed)
                    default: accepts = false
                    }
                    if accepts, add(Int32(pc + 1), to: next, count: &nextCount, previous: previous, next: scalar) {
                        return .match
                    }
                }
                steps += currentCount
                if nextCount == 0, let first {
                    // No thread is alive: skip to where a match can start.
                    while scalar != RegexProgram.none, !mayStart(with: scalar, first) {
                        previous = scalar
                        scalar = iterator.next()?.value ?? RegexProgram.none
                        steps += 1
                    }
                }
                if !anchored, add(0, to: next, count: &nextCount, previous: previous, next: scalar) { return .match }
                swap(&current, &next)
                currentCount = nextCount
                if currentCount == 0, anchored { return .noMatch }
            }
            return steps > budget ? .limitExceeded : .noMatch
        }

        /// Adds `start` and every instruction reachable from it without consuming a scalar to
        /// `list`; `true` if that reaches a match.
        @inline(__always)
        mutating func add(
            _ start: Int32,
            to list: UnsafeMutablePointer<Int32>,
            count: inout Int,
            previous: UInt32,
            next: UInt32
        ) -> Bool {
            var top = 0
            stack[0] = start
            top = 1
            while top > 0 {
                top -= 1
                let pc = Int(stack[top])
                if marks[pc] == generation { continue }
                marks[pc] = generation
                steps += 1
                let instruction = code[pc]
                switch instruction.opcode {
                case .scalar, .set:
                    list[count] = Int32(pc)
                    count += 1
                case .split:
                    stack[top] = instruction.b
                    stack[top + 1] = instruction.a
                    top += 2
                case .jump:
                    stack[top] = instruction.a
                    top += 1
                case .assert:
                    if Self.holds(instruction.a, previous: previous, next: next) {
                        stack[top] = Int32(pc + 1)
                        top += 1
                    }
                case .match:
                    return true
                }
            }
            return false
        }

        @inline(__always)
        static func holds(_ assertion: Int32, previous: UInt32, next: UInt32) -> Bool {
            switch RegexAssertion(rawValue: UInt8(assertion)) {
            case .start: return previous == RegexProgram.none
            case .end: return next == RegexProgram.none
            case .wordBoundary: return isWord(previous) != isWord(next)
            case .notWordBoundary: return isWord(previous) == isWord(next)
            case nil: return false
            }
        }

        @inline(__always)
        static func isWord(_ value: UInt32) -> Bool {
            value != RegexProgram.none && ScalarSet.isWordCharacter(value)
        }
    }
}
