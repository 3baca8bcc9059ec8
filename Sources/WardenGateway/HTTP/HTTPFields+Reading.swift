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
        guard let accept = value(.accept) else { return false }
        let wanted = "text/event-stream".utf8
        let bytes = Array(accept.utf8)
        guard bytes.count >= wanted.count else { return false }
        return (0...(bytes.count - wanted.count)).contains { start in
            zip(bytes[start...], wanted).allSatisfy { byte, lowercase in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == lowercase : byte == lowercase
            }
        }
    }
}
