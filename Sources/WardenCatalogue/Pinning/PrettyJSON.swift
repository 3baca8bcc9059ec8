public import WardenJSON

/// JSON text for people: two-space indentation, keys sorted by their bytes, one member or
/// element per line. Lock files are written this way so that they review well in version
/// control, and definitions so that their diffs are line by line.
public enum PrettyJSON {
    /// The indented text of `value`, ending without a newline.
    public static func write(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        write(value, indent: 0, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func write(_ value: JSONValue, indent: Int, to output: inout [UInt8]) {
        switch value {
        case .array(let elements) where !elements.isEmpty:
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                output.append(contentsOf: (index == 0 ? "\n" : ",\n").utf8)
                pad(indent + 1, &output)
                write(element, indent: indent + 1, to: &output)
            }
            output.append(UInt8(ascii: "\n"))
            pad(indent, &output)
            output.append(UInt8(ascii: "]"))
        case .object(let object) where object.count > 0:
            output.append(UInt8(ascii: "{"))
            let members = object.members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (index, member) in members.enumerated() {
                output.append(contentsOf: (index == 0 ? "\n" : ",\n").utf8)
                pad(indent + 1, &output)
                JSONWriter.writeString(member.key, to: &output)
                output.append(contentsOf: ": ".utf8)
                write(member.value, indent: indent + 1, to: &output)
            }
            output.append(UInt8(ascii: "\n"))
            pad(indent, &output)
            output.append(UInt8(ascii: "}"))
        default:
            JSONWriter.write(value, to: &output)
        }
    }

    private static func pad(_ indent: Int, _ output: inout [UInt8]) {
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }
}
