/// What a caller is told when Warden refuses for want of its state store (it fails closed):
/// what it could not do, what became of the request, and when to try again.
enum StoreUnavailable {
    /// `state store unavailable: Warden could not <what>, so <outcome>; try again once the store
    /// is back (GET /readyz answers 200)`.
    static func reason(couldNot what: String, so outcome: String = "the call was not forwarded") -> String {
        "state store unavailable: Warden could not \(what), so \(outcome); try again once the store is back (GET /readyz answers 200)"
    }
}
