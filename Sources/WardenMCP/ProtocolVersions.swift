/// The revisions of MCP that Warden speaks.
public enum ProtocolVersions {
    /// The revisions that open a session with `initialize`: those a client may name in
    /// `MCP-Protocol-Version` on a session, and a shared server may answer in.
    public static let withHandshake: Set<String> = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    /// The latest revision with a handshake, which Warden asks for when it opens a session itself.
    public static let latestWithHandshake = "2025-11-25"
    /// The revision Warden asks for when it opens a session that several clients share (a
    /// shared server process), and answers an aggregated `initialize` with when neither the
    /// servers nor the client named one.
    public static let sharedSession = "2025-06-18"
    /// The stateless revisions (2026-07-28): no handshake and no session.
    public static let stateless = ["2026-07-28"]
}
