/// The schema on PostgreSQL: SQLite's versioned migrations (`SwitchboardMigrations`), same names,
/// in PostgreSQL's dialect, then what only several instances need. A migration that has shipped is
/// never edited: add a new one, to both lists where it applies to both.
enum PostgresMigrations {
    struct Migration {
        var name: String
        var statements: [String]
    }

    /// `pg_advisory_xact_lock`'s key for migrating: instances starting together take turns.
    static let advisoryLockKey: Int64 = 0x5357_4254_4d49_4752 // "SWBTMIGR"

    static let all: [Migration] = [
        Migration(name: "v1-walking-skeleton", statements: [
            """
            CREATE TABLE contacts (
                id TEXT PRIMARY KEY,
                name TEXT,
                photo_url TEXT,
                phone TEXT,
                bot_enabled BOOLEAN NOT NULL DEFAULT true,
                last_message_at BIGINT,
                last_channel TEXT,
                attributes JSONB NOT NULL DEFAULT '{}',
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX contacts_by_phone ON contacts(phone)",
            """
            CREATE TABLE contact_channels (
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                last_used_at BIGINT,
                PRIMARY KEY (channel, address))
            """,
            "CREATE INDEX contact_channels_by_contact ON contact_channels(contact_id)",
            """
            CREATE TABLE subscriptions (
                contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                channel TEXT NOT NULL,
                subscribed BOOLEAN NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (contact_id, channel))
            """,
            """
            CREATE TABLE messages (
                id TEXT PRIMARY KEY,
                contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                channel TEXT NOT NULL,
                direction TEXT NOT NULL,
                author_kind TEXT NOT NULL,
                author_name TEXT,
                content TEXT NOT NULL,
                status TEXT NOT NULL,
                provider_message_id TEXT,
                error_code TEXT,
                error_message TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX messages_by_contact ON messages(contact_id, id)",
            "CREATE INDEX messages_by_status ON messages(status) WHERE status = 'failed'",
            """
            CREATE UNIQUE INDEX outbound_by_provider_id ON messages(channel, provider_message_id)
                WHERE direction = 'outbound' AND provider_message_id IS NOT NULL
            """,
            // The de-duplication key across instances: a provider's retry that lands on the other
            // instance waits for the first insert's commit, then finds it.
            """
            CREATE TABLE processed_provider_ids (
                channel TEXT NOT NULL,
                provider_message_id TEXT NOT NULL,
                message_id TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                PRIMARY KEY (channel, provider_message_id))
            """,
            """
            CREATE TABLE outbox (
                message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
                channel TEXT NOT NULL,
                recipient TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT)
            """,
            "CREATE INDEX outbox_due ON outbox(next_attempt_at)",
        ]),
        Migration(name: "v2-messenger-window-and-rcs-capabilities", statements: [
            "ALTER TABLE contact_channels ADD COLUMN page_id TEXT",
            "ALTER TABLE contact_channels ADD COLUMN window_open_until BIGINT",
            """
            CREATE TABLE rcs_capabilities (
                phone TEXT PRIMARY KEY,
                capable BOOLEAN NOT NULL,
                features TEXT NOT NULL DEFAULT '[]',
                checked_at BIGINT NOT NULL,
                source TEXT NOT NULL)
            """,
        ]),
        Migration(name: "v3-gateway-secrets", statements: [
            "CREATE TABLE gateway_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at BIGINT NOT NULL)",
        ]),
        Migration(name: "v4-outbox-by-channel", statements: [
            "CREATE INDEX outbox_due_by_channel ON outbox(channel, next_attempt_at)",
        ]),
        Migration(name: "v5-tags-and-bot-state", statements: [
            // Tag names compare without case, as SQLite's NOCASE: one spelling per lowercased name.
            "CREATE TABLE tags (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL)",
            "CREATE UNIQUE INDEX tags_by_lower_name ON tags(lower(name))",
            """
            CREATE TABLE contact_tags (
                contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                tag TEXT NOT NULL REFERENCES tags(name) ON DELETE CASCADE ON UPDATE CASCADE,
                PRIMARY KEY (contact_id, tag))
            """,
            "CREATE INDEX contact_tags_by_tag ON contact_tags(lower(tag))",
            """
            CREATE TABLE bot_state (
                contact_id TEXT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
                state TEXT NOT NULL,
                updated_at BIGINT NOT NULL)
            """,
        ]),
        Migration(name: "v6-remote-bot-deliveries", statements: [
            """
            CREATE TABLE bot_deliveries (
                message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
                contact_id TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT)
            """,
            "CREATE INDEX bot_deliveries_due ON bot_deliveries(next_attempt_at)",
        ]),
        Migration(name: "v7-early-statuses", statements: [
            """
            CREATE TABLE early_statuses (
                channel TEXT NOT NULL,
                provider_message_id TEXT NOT NULL,
                status TEXT NOT NULL,
                error_code TEXT,
                error_message TEXT,
                received_at BIGINT NOT NULL,
                PRIMARY KEY (channel, provider_message_id, status))
            """,
            "CREATE INDEX early_statuses_age ON early_statuses(received_at)",
        ]),
        Migration(name: "v8-contacts-by-recent-activity", statements: [
            "CREATE INDEX contacts_by_recent_activity ON contacts((COALESCE(last_message_at, -1)), id)",
        ]),
        Migration(name: "v9-outbox-outcome-unknown", statements: [
            "ALTER TABLE outbox ADD COLUMN outcome_unknown_since BIGINT",
            "ALTER TABLE outbox ADD COLUMN attempt_started_at BIGINT",
        ]),
        Migration(name: "v10-claim-ids", statements: [
            "ALTER TABLE outbox ADD COLUMN claim_id TEXT",
            "ALTER TABLE bot_deliveries ADD COLUMN claim_id TEXT",
        ]),
        Migration(name: "v11-contact-search", statements: [
            // Contact search by part of the name, the phone or an attribute value: trigram indexes
            // (pg_trgm, a trusted extension since PostgreSQL 13) serve ILIKE '%...%'.
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            """
            CREATE FUNCTION switchboard_attribute_values(attributes JSONB) RETURNS TEXT
                LANGUAGE sql IMMUTABLE PARALLEL SAFE
                AS $$ SELECT COALESCE(string_agg(value, ' '), '') FROM jsonb_each_text(attributes) $$
            """,
            "CREATE INDEX contacts_name_trigrams ON contacts USING gin (name gin_trgm_ops)",
            "CREATE INDEX contacts_phone_trigrams ON contacts USING gin (phone gin_trgm_ops)",
            "CREATE INDEX contacts_attribute_trigrams ON contacts USING gin (switchboard_attribute_values(attributes) gin_trgm_ops)",
        ]),
        Migration(name: "v12-shared-pacing", statements: [
            // One token bucket per paced channel for the whole deployment, locked by each claim.
            "CREATE TABLE channel_pacing (channel TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, refilled_at BIGINT NOT NULL)",
        ]),
    ]
}
