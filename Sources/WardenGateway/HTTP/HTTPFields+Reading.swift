import HTTPTypes

extension HTTPFields {
    /// The field's value, as `self[name]` gives it (the values of a repeated field joined),
    /// but read without joining when the field appears once: swift-http-types' getter always
    /// joins through generic sequences, about 5k instructions a read, several reads a request.
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            guard found == nil else { return self[name] }
            found = field.value
        }
        return found
    }

    /// Whether `Accept` names `text/event-stream` (in any letter case). Compared byte by byte:
    /// Foundation's `contains` costs about 10k instructions a request.
    var acceptsEventStream: Bool {
        guard var accept = value(.accept) else { return false }
        return accept.withUTF8 { bytes in
            let wanted = Self.eventStream
            guard bytes.count >= wanted.count else { return false }
            search: for start in 0...(bytes.count - wanted.count) {
                for offset in 0..<wanted.count {
                    let byte = bytes[start + offset]
                    let lowercase = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                    if lowercase != wanted[offset] { continue search }
                }
                return true
            }
            return false
        }
    }

    private static let eventStream: [UInt8] = Array("text/event-stream".utf8)
}
