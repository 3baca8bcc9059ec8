import Foundation
import Testing

@testable import WardenStore

/// Grants, on every backend.
@Suite struct GrantConformanceTests {
    @Test(arguments: Backend.all) func tokensAuthenticateTheirGrant(_ backend: Backend) async throws {
        let grants = try await backend.open().grants
        let issued = try await grants.create(label: "ci-agent", servers: ["time", "git"], policy: "/p.yaml", identityLabels: ["team": "ops"])
        #expect(issued.token.hasPrefix("wdn_"))
        #expect(issued.token.count == 4 + 43)
        #expect(issued.grant.id.hasPrefix("g_"))
        #expect(issued.grant.identity == "ci-agent")
        let found = try #require(try await grants.authenticate(token: issued.token))
        #expect(found.id == issued.grant.id)
        #expect(found.servers == ["time", "git"] && found.policy == "/p.yaml")
        #expect(found.identityLabels == ["team": "ops"])
        #expect(try await grants.authenticate(token: issued.token + "x") == nil)
        let other = try await grants.create(label: "b", servers: ["s"], policy: "/p", identity: "bot")
        #expect(other.grant.identity == "bot")
        #expect(try await grants.list().map(\.id) == [issued.grant.id, other.grant.id], "oldest first")
    }

    @Test(arguments: Backend.all) func tokensAndIdsAreUnique(_ backend: Backend) async throws {
        let grants = try await backend.open().grants
        var issued: [IssuedGrant] = []
        for index in 0..<50 { issued.append(try await grants.create(label: "a\(index)", servers: ["s"], policy: "/p")) }
        #expect(Set(issued.map(\.token)).count == 50)
        #expect(Set(issued.map(\.grant.id)).count == 50)
    }

    @Test(arguments: Backend.all) func rotationReplacesTheToken(_ backend: Backend) async throws {
        let grants = try await backend.open().grants
        let first = try await grants.create(label: "a", servers: ["s"], policy: "/p")
        let second = try await grants.rotate(id: first.grant.id)
        #expect(second.token != first.token && second.grant.id == first.grant.id)
        #expect(try await grants.authenticate(token: first.token) == nil)
        #expect(try await grants.authenticate(token: second.token)?.id == first.grant.id)
        #expect(try await grants.list().first?.rotatedAt != nil)
    }

    @Test(arguments: Backend.all) func revocationTakesEffectAtOnce(_ backend: Backend) async throws {
        let grants = try await backend.open().grants
        let issued = try await grants.create(label: "a", servers: ["s"], policy: "/p")
        try await grants.revoke(id: issued.grant.id)
        #expect(try await grants.authenticate(token: issued.token) == nil)
        #expect(try await grants.list().isEmpty)
        #expect(try await grants.list(includingRevoked: true).first?.revokedAt != nil)
        let attempts: [@Sendable () async throws -> Void] = [
            { try await grants.revoke(id: issued.grant.id) }, { _ = try await grants.rotate(id: issued.grant.id) },
        ]
        for attempt in attempts {
            let refused = await #expect(throws: StoreError.self) { try await attempt() }
            #expect(refused?.code == .notFound && refused?.description == "no active grant \(issued.grant.id)")
        }
    }

    @Test(arguments: Backend.all) func grantsNeedALabelAndAServer(_ backend: Backend) async throws {
        let grants = try await backend.open().grants
        let unlabelled = await #expect(throws: StoreError.self) { try await grants.create(label: "", servers: ["s"], policy: "/p") }
        #expect(unlabelled?.code == .invalidRequest)
        let nowhere = await #expect(throws: StoreError.self) { try await grants.create(label: "a", servers: [], policy: "/p") }
        #expect(nowhere?.code == .invalidRequest)
        #expect(try await grants.list(includingRevoked: true).isEmpty)
    }

    @Test(arguments: Backend.all) func aGrantIsActiveUntilRevokedOrRotated(_ backend: Backend) async throws {
        let grants = try await backend.open().grants
        let before = Date().addingTimeInterval(-60)
        let rotated = try await grants.create(label: "a", servers: ["s"], policy: "/p").grant
        let revoked = try await grants.create(label: "b", servers: ["s"], policy: "/p").grant
        #expect(try await grants.isActive(id: rotated.id, unchangedSince: before))
        _ = try await grants.rotate(id: rotated.id)
        try await grants.revoke(id: revoked.id)
        #expect(try await !grants.isActive(id: rotated.id, unchangedSince: before))
        #expect(try await grants.isActive(id: rotated.id, unchangedSince: Date().addingTimeInterval(1)))
        #expect(try await !grants.isActive(id: revoked.id, unchangedSince: Date().addingTimeInterval(1)))
        #expect(try await !grants.isActive(id: "g_unknown", unchangedSince: Date()))
    }
}
