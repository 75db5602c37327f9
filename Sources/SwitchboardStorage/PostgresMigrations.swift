import Foundation
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
        Migration(name: "v13-short-search-pending-lists", statements: [
            // A GIN index keeps new entries in an unsorted pending list (4 MB by default) that every
            // search reads in full until (auto)vacuum merges it: 8 ms per index at 100,000 contacts,
            // and every message rewrites its contact's row (last_message_at) into all three indexes.
            // 256 kB keeps the cheap appends and bounds a search's scan of the list (measured 29 ms →
            // 4 ms for a search by phone at 100,000 contacts).
            "ALTER INDEX contacts_name_trigrams SET (gin_pending_list_limit = 256)",
            "ALTER INDEX contacts_phone_trigrams SET (gin_pending_list_limit = 256)",
            "ALTER INDEX contacts_attribute_trigrams SET (gin_pending_list_limit = 256)",
        ]),
        Migration(name: "v14-inbound-in-one-round-trip", statements: [
            // Storing an inbound message was 7 to 10 statements, each a round trip, and the round
            // trips, not the work, bounded ingest (595 webhooks/s). These functions only store
            // (keywords, numbered choices and bot turns stay Swift decisions) and take one call.
            //
            // The contact for a channel address: the one using it; else, for a phone channel, the
            // contact with that phone (SMS and RCS share a contact); else a new one, `p_new_id`.
            // The advisory lock per phone or address makes two instances creating it at once agree.
            """
            CREATE FUNCTION switchboard_contact_for(p_channel TEXT, p_address TEXT, p_new_id TEXT, p_now BIGINT,
                                                    OUT contact TEXT, OUT is_new BOOLEAN)
                LANGUAGE plpgsql AS $$
            DECLARE
                is_phone BOOLEAN := p_channel IN ('sms', 'rcs');
            BEGIN
                is_new := false;
                SELECT cc.contact_id INTO contact FROM contact_channels cc WHERE cc.channel = p_channel AND cc.address = p_address;
                IF FOUND THEN RETURN; END IF;
                PERFORM pg_advisory_xact_lock(hashtextextended(
                    CASE WHEN is_phone THEN 'phone:' || p_address ELSE p_channel || ':' || p_address END, 0));
                -- Another instance may have created it while this one waited for the lock.
                SELECT cc.contact_id INTO contact FROM contact_channels cc WHERE cc.channel = p_channel AND cc.address = p_address;
                IF FOUND THEN RETURN; END IF;
                IF is_phone THEN
                    SELECT c.id INTO contact FROM contacts c WHERE c.phone = p_address ORDER BY c.id LIMIT 1;
                    IF FOUND THEN
                        INSERT INTO contact_channels (channel, address, contact_id) VALUES (p_channel, p_address, contact);
                        RETURN;
                    END IF;
                END IF;
                contact := p_new_id;
                is_new := true;
                INSERT INTO contacts (id, phone, bot_enabled, last_message_at, last_channel, created_at, updated_at)
                    VALUES (p_new_id, CASE WHEN is_phone THEN p_address END, true, p_now, p_channel, p_now, p_now);
                INSERT INTO contact_channels (channel, address, contact_id, last_used_at)
                    VALUES (p_channel, p_address, p_new_id, p_now);
            END $$
            """,
            // One inbound message, once across instances: the provider id claimed (a retry on the
            // other instance waits for this commit, then gets `duplicate` and the first message's
            // id), the contact found or created, the message stored, the contact and its channel
            // touched, Messenger's window and RCS's proof of capability recorded and, when asked, a
            // remote bot's delivery queued. `p_last_outbound_sms` asks for the content of the latest
            // outbound SMS to the contact (a bare number may answer its quick replies).
            """
            CREATE FUNCTION switchboard_record_inbound(
                p_channel TEXT, p_provider_id TEXT, p_message_id TEXT, p_new_contact_id TEXT, p_address TEXT, p_page_id TEXT,
                p_sent_at BIGINT, p_content TEXT, p_now BIGINT, p_remote_bot BOOLEAN, p_last_outbound_sms BOOLEAN,
                OUT message TEXT, OUT duplicate BOOLEAN, OUT contact TEXT, OUT is_new BOOLEAN, OUT last_outbound_sms TEXT)
                LANGUAGE plpgsql AS $$
            BEGIN
                duplicate := false;
                is_new := false;
                INSERT INTO processed_provider_ids (channel, provider_message_id, message_id, received_at)
                    VALUES (p_channel, p_provider_id, p_message_id, p_now) ON CONFLICT DO NOTHING;
                IF NOT FOUND THEN
                    duplicate := true;
                    SELECT p.message_id INTO message FROM processed_provider_ids p
                        WHERE p.channel = p_channel AND p.provider_message_id = p_provider_id;
                    RETURN;
                END IF;
                message := p_message_id;
                SELECT f.contact, f.is_new INTO contact, is_new
                    FROM switchboard_contact_for(p_channel, p_address, p_new_contact_id, p_now) f;
                IF p_last_outbound_sms AND NOT is_new THEN
                    SELECT m.content INTO last_outbound_sms FROM messages m
                        WHERE m.contact_id = contact AND m.channel = 'sms' AND m.direction = 'outbound' ORDER BY m.id DESC LIMIT 1;
                END IF;
                INSERT INTO messages (id, contact_id, channel, direction, author_kind, content, status, provider_message_id,
                                      created_at, updated_at)
                    VALUES (p_message_id, contact, p_channel, 'inbound', 'contact', p_content, 'received', p_provider_id, p_now, p_now);
                IF NOT is_new THEN
                    UPDATE contacts SET last_message_at = p_now, last_channel = p_channel, updated_at = p_now WHERE id = contact;
                    UPDATE contact_channels SET last_used_at = p_now WHERE channel = p_channel AND address = p_address;
                END IF;
                IF p_channel = 'messenger' THEN
                    UPDATE contact_channels SET page_id = COALESCE(p_page_id, page_id),
                        window_open_until = GREATEST(COALESCE(window_open_until, 0), LEAST(COALESCE(p_sent_at, p_now), p_now) + 86400000)
                        WHERE channel = 'messenger' AND address = p_address;
                ELSIF p_channel = 'rcs' THEN
                    INSERT INTO rcs_capabilities (phone, capable, features, checked_at, source)
                        VALUES (p_address, true, '[]', p_now, 'inbound')
                        ON CONFLICT (phone) DO UPDATE SET capable = true, checked_at = excluded.checked_at,
                            source = CASE WHEN rcs_capabilities.capable THEN rcs_capabilities.source ELSE 'inbound' END;
                END IF;
                IF p_remote_bot THEN
                    INSERT INTO bot_deliveries (message_id, contact_id, next_attempt_at)
                        SELECT p_message_id, c.id, p_now FROM contacts c WHERE c.id = contact AND c.bot_enabled;
                END IF;
            END $$
            """,
        ]),
        Migration(name: "v15-sent-in-one-round-trip", statements: [
            // A provider's acceptance of a send, recorded in one call instead of 7 round trips: the
            // claim checked ('lease_lost' when another worker holds the row now), the provider id's
            // lock taken (the one applyStatus takes), and, unless status reports for that id came
            // first ('early': the caller applies them with StatusRules in a transaction of its own),
            // the id and `sent` stored and the outbox row deleted ('recorded').
            """
            CREATE FUNCTION switchboard_record_sent(p_message_id TEXT, p_claim_id TEXT, p_provider_id TEXT, p_now BIGINT)
                RETURNS TEXT LANGUAGE plpgsql AS $$
            BEGIN
                IF p_claim_id IS NOT NULL THEN
                    PERFORM 1 FROM outbox WHERE message_id = p_message_id AND claim_id = p_claim_id FOR UPDATE;
                    IF NOT FOUND THEN RETURN 'lease_lost'; END IF;
                END IF;
                PERFORM pg_advisory_xact_lock(hashtextextended('status:' || p_provider_id, 0));
                IF EXISTS (SELECT 1 FROM early_statuses e JOIN messages m ON m.channel = e.channel
                           WHERE m.id = p_message_id AND e.provider_message_id = p_provider_id) THEN
                    RETURN 'early';
                END IF;
                UPDATE messages SET provider_message_id = COALESCE(provider_message_id, p_provider_id),
                    status = CASE WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END, updated_at = p_now
                    WHERE id = p_message_id;
                DELETE FROM outbox WHERE message_id = p_message_id;
                RETURN 'recorded';
            END $$
            """,
        ]),
        Migration(name: "v16-stored-attribute-values", statements: [
            // A search that matches many contacts (a common last name) walks the activity index and
            // tests each row: computing its attribute values there (jsonb_each_text per row) cost
            // 6 µs a row, 18 ms for a search by name at 100,000 contacts; stored, 4 ms. Adding the
            // column rewrites `contacts` once (about 2 s per 100,000 contacts, under an exclusive
            // lock: run `switchboard migrate` before the rollout, docs/deployment.md).
            """
            ALTER TABLE contacts ADD COLUMN attribute_values TEXT
                GENERATED ALWAYS AS (switchboard_attribute_values(attributes)) STORED
            """,
            "DROP INDEX contacts_attribute_trigrams",
            """
            CREATE INDEX contacts_attribute_values_trigrams ON contacts USING gin (attribute_values gin_trgm_ops)
                WITH (gin_pending_list_limit = 256)
            """,
        ]),
        Migration(name: "v17-reads-after-a-write-in-one-round-trip", statements: [
            // A bot's turn needs the contact (and its flow position) right after its message is
            // stored, and the live events need the message right after its send is recorded: each
            // was a second round trip. Called LATERAL after the function that writes, in the same
            // statement, these read what it wrote: a VOLATILE function takes a fresh snapshot for
            // each query, after the writes before it (and after any row lock they waited for), where
            // a plain subquery would see the statement's starting snapshot. PL/pgSQL, not SQL (a SQL
            // function is parsed and planned on every call), with generic plans: PostgreSQL's default
            // re-plans a statement with parameters on every call while a plan for the values looks
            // cheaper than one for any values, which for these lookups by key it always does
            // (a contact's read, per call: 0.141 ms re-planned, 0.042 ms with the generic plan).
            //
            // A contact with everything the panel shows (the one definition `loadContacts` uses),
            // and, when asked, its flow position.
            """
            CREATE FUNCTION switchboard_contacts(p_ids TEXT[], p_with_bot_state BOOLEAN)
                RETURNS TABLE(id TEXT, name TEXT, photo_url TEXT, phone TEXT, bot_enabled BOOLEAN, last_message_at BIGINT,
                              last_channel TEXT, attributes TEXT, channels TEXT, subscriptions TEXT, tags TEXT,
                              rcs_capable BOOLEAN, rcs_features TEXT, rcs_checked_at BIGINT, bot_state TEXT)
                LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
            BEGIN
            RETURN QUERY
            SELECT c.id, c.name, c.photo_url, c.phone, c.bot_enabled, c.last_message_at, c.last_channel,
                   c.attributes::text,
                   (SELECT COALESCE(json_agg(json_build_object(
                                'channel', cc.channel, 'address', cc.address, 'lastUsedAt', cc.last_used_at,
                                'pageId', cc.page_id, 'windowOpenUntil', cc.window_open_until)
                            ORDER BY cc.last_used_at DESC NULLS LAST, cc.channel), '[]')::text
                      FROM contact_channels cc WHERE cc.contact_id = c.id),
                   (SELECT COALESCE(json_object_agg(s.channel, s.subscribed), '{}')::text
                      FROM subscriptions s WHERE s.contact_id = c.id),
                   (SELECT COALESCE(json_agg(t.tag ORDER BY lower(t.tag), t.tag), '[]')::text
                      FROM contact_tags t WHERE t.contact_id = c.id),
                   r.capable, r.features, r.checked_at,
                   CASE WHEN p_with_bot_state THEN (SELECT b.state FROM bot_state b WHERE b.contact_id = c.id) END
            FROM contacts c LEFT JOIN rcs_capabilities r ON r.phone = c.phone
            WHERE c.id = ANY(p_ids);
            END $$
            """,
            // One message, as written so far in this transaction.
            """
            CREATE FUNCTION switchboard_message(p_id TEXT) RETURNS SETOF messages
                LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
            BEGIN
                RETURN QUERY SELECT * FROM messages m WHERE m.id = p_id;
            END $$
            """,
        ]),
        Migration(name: "v18-claim-in-a-function", statements: [
            // One claim of due outbox rows, as one call: every batch (the unpaced channels together,
            // each channel with a limit alone) taken with FOR UPDATE SKIP LOCKED and leased to
            // `p_claim_id`, the messages marked `sending` (locked in id order, as every batch here,
            // so concurrent claims cannot deadlock), and what a send needs returned with them. As
            // one statement it was planned on every call (1.2 ms of parse and plan against 0.4 ms
            // of work, at 300 claims a second); a PL/pgSQL function keeps its plans for the session.
            //
            // A channel with a deployment-wide pace (`p_paced`) takes at most the whole tokens of
            // its bucket (its `channel_pacing` row, locked first, so instances take turns; refilled
            // at `p_rates` a second since `refilled_at`, up to `p_bursts`), and the bucket is charged
            // for the rows the batch got: the token bucket `SendPacer` keeps per instance, in SQL so
            // that reading, claiming and charging are one call.
            //
            // Generic plans, as v17's (an empty claim, per call: 0.128 ms re-planned, 0.048 ms),
            // except for the unpaced batch: `channel = ANY(...)` over several channels has no good
            // plan for any values (it would walk every due row in time order, a paced backlog of
            // 100,000 SMS included, to find the few unpaced ones), so it is planned per call.
            //
            // A paced channel's row is created full ("refilled at 0", whatever the instance's
            // clock) the first time a claim misses it, and again if someone deleted it.
            claimOutboxV18,
        ]),
        Migration(name: "v19-idempotency-keys", statements: [
            // Proactive sends (POST /api/v1/messages) remember their Idempotency-Key for 24 hours;
            // the key's row is claimed first in the send's transaction, so a second instance given
            // the same key at once waits for the first to commit and then returns its message.
            """
            CREATE TABLE idempotency_keys (
                key TEXT PRIMARY KEY,
                request_hash TEXT NOT NULL,
                message_id TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)",
        ]),
        Migration(name: "v20-claims-keep-unsubscribes", statements: [
            // A contact who unsubscribed gets nothing more on that channel but the gateway's own
            // answer to the STOP (a system message written in the same transaction as the
            // unsubscribe). Before, every system message went through, and the API's proactive
            // sends may be authored `system` and queued before a STOP.
            claimOutboxV18
                .replacingOccurrences(of: "CREATE FUNCTION switchboard_claim_outbox(", with: "CREATE OR REPLACE FUNCTION switchboard_claim_outbox(")
                .replacingOccurrences(
                    of: "COALESCE((SELECT s.subscribed FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = cl.channel), true)",
                    with: "COALESCE((SELECT s.subscribed OR (m.author_kind = 'system' AND m.created_at >= s.updated_at) FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = cl.channel), true)"),
        ]),
        Migration(name: "v21-event-webhooks", statements: [
            // Event webhooks: the configured subscribers and one delivery row per event and
            // subscriber, written by triggers in the transaction of the change (WebhookTriggers
            // describes which changes). Unlike SQLite's, the triggers always exist: instances share
            // them, and with no subscriber each one looks into an empty table.
            """
            CREATE TABLE webhook_subscribers (
                name TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                events TEXT[] NOT NULL,
                enabled BOOLEAN NOT NULL DEFAULT true,
                disabled_at BIGINT,
                updated_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE webhook_deliveries (
                id BIGSERIAL PRIMARY KEY,
                subscriber TEXT NOT NULL REFERENCES webhook_subscribers(name) ON DELETE CASCADE,
                event_type TEXT NOT NULL,
                subject_id TEXT NOT NULL,
                ordering_key TEXT NOT NULL,
                status TEXT,
                occurred_at BIGINT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts BIGINT NOT NULL DEFAULT 0,
                first_attempt_at BIGINT,
                next_attempt_at BIGINT NOT NULL,
                claim_id TEXT,
                last_error TEXT,
                last_status_code BIGINT,
                finished_at BIGINT)
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'",
            "CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (subscriber, ordering_key, id) WHERE state = 'pending'",
            "CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (id) WHERE state = 'failed'",
            """
            CREATE UNIQUE INDEX webhook_deliveries_one_contact_change ON webhook_deliveries (subscriber, subject_id)
                WHERE event_type = 'contact.updated' AND state = 'pending' AND attempts = 0
            """,
            """
            CREATE FUNCTION switchboard_webhook_event(p_type TEXT, p_subject TEXT, p_ordering_key TEXT, p_status TEXT, p_at BIGINT)
                RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                -- Due now, unless the contact has an earlier delivery waiting: then when that one is.
                IF p_type = 'contact.updated' THEN
                    -- A change folded into a pending one locks it (DO UPDATE, not DO NOTHING): no
                    -- instance can claim and read the contact before this change commits.
                    INSERT INTO webhook_deliveries (subscriber, event_type, subject_id, ordering_key, status, occurred_at, next_attempt_at)
                    SELECT s.name, p_type, p_subject, p_ordering_key, p_status, p_at,
                        COALESCE((SELECT e.next_attempt_at FROM webhook_deliveries e
                                  WHERE e.state = 'pending' AND e.subscriber = s.name AND e.ordering_key = p_ordering_key
                                  ORDER BY e.id LIMIT 1), 0)
                    FROM webhook_subscribers s WHERE s.enabled AND p_type = ANY (s.events)
                    ON CONFLICT (subscriber, subject_id) WHERE event_type = 'contact.updated' AND state = 'pending' AND attempts = 0
                    DO UPDATE SET occurred_at = GREATEST(webhook_deliveries.occurred_at, EXCLUDED.occurred_at);
                ELSE
                    INSERT INTO webhook_deliveries (subscriber, event_type, subject_id, ordering_key, status, occurred_at, next_attempt_at)
                    SELECT s.name, p_type, p_subject, p_ordering_key, p_status, p_at,
                        COALESCE((SELECT e.next_attempt_at FROM webhook_deliveries e
                                  WHERE e.state = 'pending' AND e.subscriber = s.name AND e.ordering_key = p_ordering_key
                                  ORDER BY e.id LIMIT 1), 0)
                    FROM webhook_subscribers s WHERE s.enabled AND p_type = ANY (s.events);
                END IF;
            END $$
            """,
            """
            CREATE FUNCTION switchboard_webhook_message() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM switchboard_webhook_event('message.created', NEW.id, NEW.contact_id, NEW.status, NEW.created_at);
                ELSIF NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('queued', 'sending') THEN
                    PERFORM switchboard_webhook_event('message.status', NEW.id, NEW.contact_id, NEW.status, NEW.updated_at);
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER webhook_messages AFTER INSERT OR UPDATE OF status ON messages
                FOR EACH ROW EXECUTE FUNCTION switchboard_webhook_message()
            """,
            """
            CREATE FUNCTION switchboard_webhook_contact() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                v_now BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
            BEGIN
                IF TG_TABLE_NAME = 'contacts' THEN
                    IF TG_OP = 'INSERT' THEN
                        PERFORM switchboard_webhook_event('contact.updated', NEW.id, NEW.id, NULL, NEW.created_at);
                    ELSIF NEW.name IS DISTINCT FROM OLD.name OR NEW.photo_url IS DISTINCT FROM OLD.photo_url
                        OR NEW.phone IS DISTINCT FROM OLD.phone OR NEW.bot_enabled IS DISTINCT FROM OLD.bot_enabled
                        OR NEW.attributes IS DISTINCT FROM OLD.attributes THEN
                        PERFORM switchboard_webhook_event('contact.updated', NEW.id, NEW.id, NULL, NEW.updated_at);
                    END IF;
                ELSIF TG_OP = 'DELETE' THEN
                    PERFORM switchboard_webhook_event('contact.updated', OLD.contact_id, OLD.contact_id, NULL, v_now);
                ELSIF TG_OP = 'INSERT' THEN
                    PERFORM switchboard_webhook_event('contact.updated', NEW.contact_id, NEW.contact_id, NULL, v_now);
                ELSIF TG_TABLE_NAME = 'subscriptions' THEN
                    -- (Nested: a record is checked for the field even where the condition is false.)
                    IF NEW.subscribed IS DISTINCT FROM OLD.subscribed THEN
                        PERFORM switchboard_webhook_event('contact.updated', NEW.contact_id, NEW.contact_id, NULL, v_now);
                    END IF;
                ELSIF NEW.contact_id IS DISTINCT FROM OLD.contact_id THEN
                    PERFORM switchboard_webhook_event('contact.updated', NEW.contact_id, NEW.contact_id, NULL, v_now);
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER webhook_contacts AFTER INSERT OR UPDATE OF name, photo_url, phone, bot_enabled, attributes ON contacts
                FOR EACH ROW EXECUTE FUNCTION switchboard_webhook_contact()
            """,
            """
            CREATE TRIGGER webhook_contact_tags AFTER INSERT OR DELETE ON contact_tags
                FOR EACH ROW EXECUTE FUNCTION switchboard_webhook_contact()
            """,
            """
            CREATE TRIGGER webhook_subscriptions AFTER INSERT OR UPDATE OF subscribed ON subscriptions
                FOR EACH ROW EXECUTE FUNCTION switchboard_webhook_contact()
            """,
            """
            CREATE TRIGGER webhook_contact_channels AFTER INSERT OR UPDATE OF contact_id ON contact_channels
                FOR EACH ROW EXECUTE FUNCTION switchboard_webhook_contact()
            """,
        ]),
        Migration(name: "v22-broadcasts", statements: [
            // Broadcasts (SQLite's v16): recipients fixed at creation, fanned out in batches by
            // any instance (SKIP LOCKED), counts moved by a trigger as the messages move.
            "ALTER TABLE messages ADD COLUMN broadcast_id TEXT",
            """
            CREATE TABLE broadcasts (
                id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                target TEXT NOT NULL,
                channel TEXT,
                content TEXT NOT NULL,
                author_kind TEXT NOT NULL,
                author_name TEXT,
                recipients BIGINT NOT NULL,
                pending BIGINT NOT NULL,
                queued BIGINT NOT NULL DEFAULT 0,
                sent BIGINT NOT NULL DEFAULT 0,
                delivered BIGINT NOT NULL DEFAULT 0,
                read BIGINT NOT NULL DEFAULT 0,
                failed BIGINT NOT NULL DEFAULT 0,
                cancelled BIGINT NOT NULL DEFAULT 0,
                skipped_unsubscribed BIGINT NOT NULL DEFAULT 0,
                skipped_outside_messaging_window BIGINT NOT NULL DEFAULT 0,
                skipped_no_channel BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                completed_at BIGINT)
            """,
            "CREATE INDEX broadcasts_running ON broadcasts (id) WHERE status = 'running'",
            """
            CREATE TABLE broadcast_recipients (
                broadcast_id TEXT NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
                contact_id TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                skip_reason TEXT,
                message_id TEXT,
                PRIMARY KEY (broadcast_id, contact_id))
            """,
            "CREATE INDEX broadcast_recipients_pending ON broadcast_recipients (broadcast_id, contact_id) WHERE state = 'pending'",
            """
            CREATE FUNCTION switchboard_broadcast_message_status() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE broadcasts SET
                    queued = queued - (OLD.status IN ('queued', 'sending'))::INT + (NEW.status IN ('queued', 'sending'))::INT,
                    sent = sent - (OLD.status = 'sent')::INT + (NEW.status = 'sent')::INT,
                    delivered = delivered - (OLD.status = 'delivered')::INT + (NEW.status = 'delivered')::INT,
                    read = read - (OLD.status = 'read')::INT + (NEW.status = 'read')::INT,
                    failed = failed - (OLD.status = 'failed')::INT + (NEW.status = 'failed')::INT,
                    updated_at = NEW.updated_at
                WHERE id = NEW.broadcast_id;
                UPDATE broadcasts SET status = 'completed', completed_at = NEW.updated_at
                WHERE id = NEW.broadcast_id AND status = 'running' AND pending = 0 AND queued = 0;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER broadcast_message_status AFTER UPDATE OF status ON messages
                FOR EACH ROW WHEN (NEW.broadcast_id IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status
                                   AND NOT (OLD.status IN ('queued', 'sending') AND NEW.status IN ('queued', 'sending')))
                EXECUTE FUNCTION switchboard_broadcast_message_status()
            """,
            """
            CREATE FUNCTION switchboard_webhook_broadcast() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM switchboard_webhook_event('broadcast.completed', NEW.id, NEW.id, NEW.status, COALESCE(NEW.completed_at, NEW.updated_at));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER webhook_broadcasts AFTER UPDATE OF status ON broadcasts
                FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
                EXECUTE FUNCTION switchboard_webhook_broadcast()
            """,
        ]),
        Migration(name: "v23-message-reactions", statements: [
            "ALTER TABLE messages ADD COLUMN reaction_emoji TEXT, ADD COLUMN reaction_name TEXT, ADD COLUMN reaction_at BIGINT",
            """
            CREATE FUNCTION switchboard_webhook_message_reaction() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM switchboard_webhook_event('message.reaction', NEW.id, NEW.contact_id, NULL, NEW.updated_at);
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER webhook_message_reaction AFTER UPDATE OF reaction_emoji, reaction_name, reaction_at ON messages
                FOR EACH ROW WHEN (OLD.reaction_emoji IS DISTINCT FROM NEW.reaction_emoji OR OLD.reaction_name IS DISTINCT FROM NEW.reaction_name
                                   OR OLD.reaction_at IS DISTINCT FROM NEW.reaction_at)
                EXECUTE FUNCTION switchboard_webhook_message_reaction()
            """,
        ]),
        Migration(name: "v24-media-fetches", statements: [
            """
            CREATE TABLE media_fetches (
                message_id TEXT NOT NULL,
                attachment_index INTEGER NOT NULL,
                url TEXT NOT NULL,
                channel TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                claim_id TEXT,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (message_id, attachment_index))
            """,
            "CREATE INDEX media_fetches_due ON media_fetches (next_attempt_at)",
            """
            CREATE FUNCTION switchboard_media_fetch_inbound() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO media_fetches (message_id, attachment_index, url, channel, next_attempt_at, created_at)
                SELECT NEW.id, (a.ordinality - 1)::INTEGER, a.value ->> 'url', NEW.channel, NEW.created_at, NEW.created_at
                FROM jsonb_array_elements(NEW.content::jsonb -> 'attachments') WITH ORDINALITY AS a(value, ordinality)
                WHERE a.value ->> 'fetch' = 'pending' AND a.value ->> 'url' IS NOT NULL
                ON CONFLICT DO NOTHING;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER media_fetch_inbound AFTER INSERT ON messages
                FOR EACH ROW WHEN (NEW.direction = 'inbound' AND strpos(NEW.content, '"fetch":"pending"') > 0)
                EXECUTE FUNCTION switchboard_media_fetch_inbound()
            """,
        ]),
    ]

    /// v18's claim function, kept as written: v20 replaces it with one condition changed.
    static let claimOutboxV18 =
            """
            CREATE FUNCTION switchboard_claim_outbox(
                p_now BIGINT, p_lease_end BIGINT, p_claim_id TEXT, p_unpaced TEXT[], p_limit BIGINT,
                p_channels TEXT[], p_counts BIGINT[], p_paced BOOLEAN[], p_rates FLOAT8[], p_bursts FLOAT8[])
                RETURNS TABLE(message_id TEXT, channel TEXT, recipient TEXT, attempts BIGINT, outcome_unknown_since BIGINT,
                              contact_id TEXT, content TEXT, author_kind TEXT, phone TEXT, subscribed BOOLEAN,
                              window_open_until BIGINT)
                LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
            #variable_conflict use_column
            DECLARE
                v_ids TEXT[] := '{}';
                v_got TEXT[];
                v_available FLOAT8;
                v_count BIGINT;
            BEGIN
                IF p_limit > 0 AND cardinality(p_unpaced) > 0 THEN
                    EXECUTE 'SELECT array_agg(d.message_id) FROM ('
                        || 'SELECT o.message_id FROM outbox o WHERE o.channel = ANY($1) AND o.next_attempt_at <= $2 '
                        || 'ORDER BY o.next_attempt_at, o.message_id LIMIT $3 FOR UPDATE SKIP LOCKED) d'
                        INTO v_got USING p_unpaced, p_now, p_limit;
                    v_ids := v_ids || COALESCE(v_got, '{}');
                END IF;
                FOR i IN 1..COALESCE(cardinality(p_channels), 0) LOOP
                    CONTINUE WHEN p_counts[i] <= 0;
                    v_count := p_counts[i];
                    v_available := NULL;
                    IF p_paced[i] THEN
                        FOR attempt IN 1..2 LOOP
                            SELECT LEAST(p_bursts[i], b.tokens + GREATEST(0, p_now - b.refilled_at) / 1000.0 * p_rates[i])
                                INTO v_available FROM channel_pacing b WHERE b.channel = p_channels[i] FOR UPDATE;
                            EXIT WHEN FOUND;
                            INSERT INTO channel_pacing (channel, tokens, refilled_at) VALUES (p_channels[i], p_bursts[i], 0)
                                ON CONFLICT DO NOTHING;
                        END LOOP;
                        v_count := CASE WHEN v_available IS NULL THEN 0 ELSE GREATEST(0, LEAST(v_count, floor(v_available)))::bigint END;
                    END IF;
                    v_got := NULL;
                    IF v_count > 0 THEN
                        SELECT array_agg(d.message_id) INTO v_got FROM (
                            SELECT o.message_id FROM outbox o WHERE o.channel = p_channels[i] AND o.next_attempt_at <= p_now
                            ORDER BY o.next_attempt_at, o.message_id LIMIT v_count FOR UPDATE SKIP LOCKED) d;
                    END IF;
                    IF v_available IS NOT NULL THEN
                        UPDATE channel_pacing b SET tokens = v_available - COALESCE(cardinality(v_got), 0),
                            refilled_at = GREATEST(p_now, b.refilled_at)
                            WHERE b.channel = p_channels[i];
                    END IF;
                    v_ids := v_ids || COALESCE(v_got, '{}');
                END LOOP;
                IF cardinality(v_ids) = 0 THEN RETURN; END IF;
                PERFORM 1 FROM messages m WHERE m.id = ANY(v_ids) AND m.status = 'queued' ORDER BY m.id FOR UPDATE;
                UPDATE messages m SET status = 'sending', updated_at = p_now WHERE m.id = ANY(v_ids) AND m.status = 'queued';
                RETURN QUERY
                WITH claimed AS (
                    UPDATE outbox o SET next_attempt_at = p_lease_end, attempts = o.attempts + 1,
                        outcome_unknown_since = COALESCE(o.outcome_unknown_since, o.attempt_started_at),
                        attempt_started_at = p_now, claim_id = p_claim_id
                    WHERE o.message_id = ANY(v_ids)
                    RETURNING o.message_id, o.channel, o.recipient, o.attempts::bigint AS attempts, o.outcome_unknown_since)
                SELECT cl.message_id, cl.channel, cl.recipient, cl.attempts, cl.outcome_unknown_since,
                       m.contact_id, m.content, m.author_kind, c.phone,
                       COALESCE((SELECT s.subscribed FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = cl.channel), true),
                       (SELECT cc.window_open_until FROM contact_channels cc
                         WHERE cc.contact_id = m.contact_id AND cc.channel = 'messenger' AND cc.address = cl.recipient)
                FROM claimed cl JOIN messages m ON m.id = cl.message_id JOIN contacts c ON c.id = m.contact_id
                ORDER BY cl.message_id;
            END $$
            """
}
