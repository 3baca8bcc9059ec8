import PostgresNIO

/// The PostgreSQL schema, as numbered migrations. ``migrate(_:creatingIfMissing:)`` applies
/// the missing ones in one transaction under an advisory lock, so instances starting together
/// wait for each other, and refuses a schema newer than this binary knows.
enum PostgresSchema {
    /// The key of the advisory lock migrations hold (any number only Warden uses).
    static let migrationLock: Int64 = 0x5741_5244_454E_0001

    /// The migrations, in order: migration `n` (from 1) brings the schema to version `n`.
    static let migrations: [[PostgresQuery]] = [version1, version2, version3, version4, version5]

    /// The version this binary knows.
    static var currentVersion: Int { migrations.count }

    /// Brings the schema up to date.
    /// - Throws: ``StoreError``: `notFound` when the database has no Warden schema and
    ///   `creatingIfMissing` is false; `unavailable` when the schema is newer than this binary's.
    static func migrate(_ database: PostgresDatabase, creatingIfMissing: Bool) async throws {
        let location = database.location
        try await database.transaction("migrating the schema") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: database.logger)
            let exists = try await connection.query("SELECT to_regclass('warden_schema') IS NOT NULL", logger: database.logger)
                .collect().first?.decode(Bool.self) ?? false
            guard exists || creatingIfMissing else {
                throw StoreError(.notFound, "no Warden schema in the database \(location)")
            }
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS warden_schema (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), version integer NOT NULL)",
                logger: database.logger)
            let found = try await connection.query("SELECT version FROM warden_schema", logger: database.logger)
                .collect().first?.decode(Int.self) ?? 0
            guard found <= currentVersion else {
                throw StoreError(
                    .unavailable,
                    "the Warden schema in \(location) is version \(found), newer than this warden's version \(currentVersion): upgrade warden"
                )
            }
            guard found < currentVersion else { return }
            for migration in migrations[found...] {
                for statement in migration { try await connection.query(statement, logger: database.logger) }
            }
            try await connection.query(
                """
                INSERT INTO warden_schema (version) VALUES (\(currentVersion))
                ON CONFLICT (only_row) DO UPDATE SET version = excluded.version
                """, logger: database.logger)
        }
    }

    /// Counters, the audit log, grants, approvals, admin tokens, and the reservation function.
    /// Times are text in ``AuditRecord/timeFormat`` (as in SQLite), compared bytewise (`C`).
    static let version1: [PostgresQuery] = [
        """
        CREATE TABLE warden_counter (
            key text PRIMARY KEY, amount numeric NOT NULL, window_end bigint NOT NULL)
        """,
        "CREATE INDEX warden_counter_window_end ON warden_counter (window_end)",
        """
        CREATE TABLE warden_audit (
            seq bigint PRIMARY KEY, time text COLLATE "C" NOT NULL, record text NOT NULL, prev_hash text NOT NULL,
            hash text NOT NULL, tool text, decision text NOT NULL, identity text NOT NULL)
        """,
        "CREATE INDEX warden_audit_time ON warden_audit (time)",
        """
        CREATE TABLE warden_grant (
            id text COLLATE "C" PRIMARY KEY, label text NOT NULL, token_hash text NOT NULL UNIQUE, servers text NOT NULL,
            policy text NOT NULL, identity text NOT NULL, identity_labels text NOT NULL, created_at text COLLATE "C" NOT NULL,
            rotated_at text COLLATE "C", revoked_at text COLLATE "C")
        """,
        """
        CREATE TABLE warden_approval (
            id text COLLATE "C" PRIMARY KEY, server text NOT NULL, tool text NOT NULL, identity text NOT NULL, grant_id text,
            session text NOT NULL, request_id text NOT NULL, arguments text NOT NULL, rule text NOT NULL, message text NOT NULL,
            approvers text NOT NULL, holder text NOT NULL, created_at text COLLATE "C" NOT NULL,
            expires_at text COLLATE "C" NOT NULL, status text NOT NULL, decided_by text, reason text,
            decided_at text COLLATE "C", decided_by_token text)
        """,
        "CREATE INDEX warden_approval_status ON warden_approval (status)",
        "CREATE INDEX warden_approval_grant ON warden_approval (grant_id)",
        """
        CREATE TABLE warden_admin_token (
            id text COLLATE "C" PRIMARY KEY, name text NOT NULL, role text NOT NULL, token_hash text NOT NULL UNIQUE,
            created_at text COLLATE "C" NOT NULL, revoked_at text COLLATE "C")
        """,
        // Reserves counts all or none, in one statement (one round trip): makes the missing
        // rows, locks every row in key order (so reservations never deadlock each other),
        // and adds the amounts only if every count is at or under its threshold (the most
        // it may be now for every reservation of that key to fit). Returns each key's count
        // after (or, refused, as it is) and whether it was refused.
        """
        CREATE FUNCTION warden_reserve(p_keys text[], p_amounts numeric[], p_thresholds numeric[], p_window_ends bigint[])
        RETURNS TABLE (counter_key text, counter_amount text, refused boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            is_refused boolean;
        BEGIN
            INSERT INTO warden_counter (key, amount, window_end)
                SELECT t.k, 0, t.w FROM unnest(p_keys, p_window_ends) AS t(k, w) ORDER BY t.k
                ON CONFLICT (key) DO NOTHING;
            PERFORM 1 FROM warden_counter c WHERE c.key = ANY (p_keys) ORDER BY c.key FOR UPDATE;
            SELECT coalesce(bool_or(c.amount > t.m), true) INTO is_refused
                FROM warden_counter c JOIN unnest(p_keys, p_thresholds) AS t(k, m) ON c.key = t.k;
            IF NOT is_refused THEN
                UPDATE warden_counter c SET amount = c.amount + t.a
                    FROM unnest(p_keys, p_amounts) AS t(k, a) WHERE c.key = t.k;
            END IF;
            RETURN QUERY SELECT c.key, trim_scale(c.amount)::text, is_refused FROM warden_counter c WHERE c.key = ANY (p_keys);
        END
        $$
        """,
    ]

    /// The reservation function for many calls at once (``ReservationBatcher``): makes the
    /// missing rows, locks every row of every call in key order, then takes the calls in
    /// order, each all or none as `warden_reserve` does, and returns each call's counts after
    /// its turn. One lock and one commit serve every call of the batch. It replaces
    /// `warden_reserve`, which nothing calls any more.
    static let version2: [PostgresQuery] = [
        "DROP FUNCTION warden_reserve(text[], numeric[], numeric[], bigint[])",
        """
        CREATE FUNCTION warden_reserve_batch(
            p_calls integer[], p_keys text[], p_amounts numeric[], p_thresholds numeric[], p_window_ends bigint[])
        RETURNS TABLE (call_index integer, counter_key text, counter_amount text, refused boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            current_call integer;
            is_refused boolean;
        BEGIN
            INSERT INTO warden_counter (key, amount, window_end)
                SELECT DISTINCT ON (t.k) t.k, 0, t.w FROM unnest(p_keys, p_window_ends) AS t(k, w) ORDER BY t.k
                ON CONFLICT (key) DO NOTHING;
            PERFORM 1 FROM warden_counter c WHERE c.key = ANY (p_keys) ORDER BY c.key FOR UPDATE;
            FOR current_call IN SELECT DISTINCT x FROM unnest(p_calls) AS x ORDER BY x LOOP
                SELECT coalesce(bool_or(c.amount > t.m), true) INTO is_refused
                    FROM warden_counter c JOIN unnest(p_calls, p_keys, p_thresholds) AS t(i, k, m) ON c.key = t.k
                    WHERE t.i = current_call;
                IF NOT is_refused THEN
                    UPDATE warden_counter c SET amount = c.amount + t.a
                        FROM unnest(p_calls, p_keys, p_amounts) AS t(i, k, a) WHERE c.key = t.k AND t.i = current_call;
                END IF;
                RETURN QUERY SELECT current_call, c.key, trim_scale(c.amount)::text, is_refused
                    FROM warden_counter c JOIN unnest(p_calls, p_keys) AS t(i, k) ON c.key = t.k WHERE t.i = current_call;
            END LOOP;
        END
        $$
        """,
    ]

    /// The write-ahead records of calls being forwarded (``CallIntent``), and a
    /// `warden_reserve_batch` that also takes each call's intent and writes it in the same
    /// statement, for the calls whose counts the version-2 function (which it calls, and which
    /// stays for instances of the previous version still running) reserves. An empty
    /// `p_intent_instances` element is no instance.
    static let version3: [PostgresQuery] = [
        """
        CREATE TABLE warden_call_intent (
            id text COLLATE "C" PRIMARY KEY, instance text, holder text NOT NULL, process text NOT NULL,
            time text COLLATE "C" NOT NULL, record text NOT NULL)
        """,
        """
        CREATE FUNCTION warden_reserve_batch(
            p_calls integer[], p_keys text[], p_amounts numeric[], p_thresholds numeric[], p_window_ends bigint[],
            p_intent_calls integer[], p_intent_ids text[], p_intent_instances text[], p_intent_holders text[],
            p_intent_processes text[], p_intent_times text[], p_intent_records text[])
        RETURNS TABLE (call_index integer, counter_key text, counter_amount text, refused boolean)
        LANGUAGE sql AS $$
            WITH reserved AS (
                SELECT * FROM warden_reserve_batch(p_calls, p_keys, p_amounts, p_thresholds, p_window_ends)
            ), written AS (
                INSERT INTO warden_call_intent (id, instance, holder, process, time, record)
                SELECT t.id, nullif(t.inst, ''), t.h, t.p, t.tm, t.r
                FROM unnest(p_intent_calls, p_intent_ids, p_intent_instances, p_intent_holders, p_intent_processes, p_intent_times,
                    p_intent_records) AS t(i, id, inst, h, p, tm, r)
                WHERE t.i IN (SELECT r.call_index FROM reserved r WHERE NOT r.refused)
            )
            SELECT r.call_index, r.counter_key, r.counter_amount, r.refused FROM reserved r
        $$
        """,
    ]

    /// Every change to a grant (revoked, rotated, deleted; by Warden or by hand) announced on
    /// `warden_grants` with the grant's id, when its transaction commits: instances keep the
    /// grants of tokens they have seen (``GrantCache``) only while nothing is announced.
    static let version4: [PostgresQuery] = [
        """
        CREATE FUNCTION warden_announce_grant_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('warden_grants', OLD.id);
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER warden_grant_changed AFTER UPDATE OR DELETE ON warden_grant
        FOR EACH ROW EXECUTE FUNCTION warden_announce_grant_change()
        """,
    ]

    /// The same reservation as version 2's, in one pass: the batch's rows are locked and read
    /// once, the calls take their turns on those counts in memory, and each row is written
    /// once at the end. Version 2's took three statements per call, each over the whole batch,
    /// and left a row version per call: PostgreSQL's time grew with the square of the batch.
    static let version5: [PostgresQuery] = [
        """
        CREATE OR REPLACE FUNCTION warden_reserve_batch(
            p_calls integer[], p_keys text[], p_amounts numeric[], p_thresholds numeric[], p_window_ends bigint[])
        RETURNS TABLE (call_index integer, counter_key text, counter_amount text, refused boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            locked_keys text[];
            counts numeric[];
            starting numeric[];
            turns integer[];
            entries integer := coalesce(array_length(p_calls, 1), 0);
            first_entry integer := 1;
            last_entry integer;
            entry integer;
            slot integer;
            is_refused boolean;
        BEGIN
            INSERT INTO warden_counter (key, amount, window_end)
                SELECT DISTINCT ON (t.k) t.k, 0, t.w FROM unnest(p_keys, p_window_ends) AS t(k, w) ORDER BY t.k
                ON CONFLICT (key) DO NOTHING;
            SELECT array_agg(l.key ORDER BY l.key), array_agg(l.amount ORDER BY l.key) INTO locked_keys, counts
                FROM (SELECT c.key, c.amount FROM warden_counter c WHERE c.key = ANY (p_keys) ORDER BY c.key FOR UPDATE) l;
            starting := counts;
            -- The entries in the order of their calls: each call's entries together.
            SELECT array_agg(t.o ORDER BY t.c, t.o) INTO turns FROM unnest(p_calls) WITH ORDINALITY AS t(c, o);
            WHILE first_entry <= entries LOOP
                last_entry := first_entry;
                WHILE last_entry < entries AND p_calls[turns[last_entry + 1]] = p_calls[turns[first_entry]] LOOP
                    last_entry := last_entry + 1;
                END LOOP;
                is_refused := false;
                FOR entry IN first_entry..last_entry LOOP
                    slot := array_position(locked_keys, p_keys[turns[entry]]);
                    IF slot IS NULL OR counts[slot] > p_thresholds[turns[entry]] THEN
                        is_refused := true;
                    END IF;
                END LOOP;
                IF NOT is_refused THEN
                    FOR entry IN first_entry..last_entry LOOP
                        slot := array_position(locked_keys, p_keys[turns[entry]]);
                        counts[slot] := counts[slot] + p_amounts[turns[entry]];
                    END LOOP;
                END IF;
                FOR entry IN first_entry..last_entry LOOP
                    slot := array_position(locked_keys, p_keys[turns[entry]]);
                    call_index := p_calls[turns[entry]];
                    counter_key := p_keys[turns[entry]];
                    counter_amount := trim_scale(counts[slot])::text;
                    refused := is_refused;
                    RETURN NEXT;
                END LOOP;
                first_entry := last_entry + 1;
            END LOOP;
            UPDATE warden_counter c SET amount = t.a
                FROM unnest(locked_keys, counts, starting) AS t(k, a, s) WHERE c.key = t.k AND t.a <> t.s;
        END
        $$
        """,
    ]
}
