/// Why the shipped catalogue's data could not be read: a line that is not a well-formed entry.
public struct CatalogueLoadError: Error, CustomStringConvertible {
    /// The 1-based line of the data.
    public var line: Int
    /// What is wrong with it.
    public var reason: String

    public var description: String {
        "catalogue data line \(line): \(reason)"
    }
}
