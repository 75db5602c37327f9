import GRDB
import SwitchboardCore

/// The schema, as versioned migrations. A migration that has shipped is never edited: add a new one.
enum SwitchboardMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-walking-skeleton") { db in
            // Times are milliseconds since 1970 (UTC) in INTEGER columns.
            try db.execute(sql: """
                CREATE TABLE contacts (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT,
                    photo_url TEXT,
                    phone TEXT,
                    bot_enabled INTEGER NOT NULL DEFAULT 1,
                    last_message_at INTEGER,
                    last_channel TEXT,
                    attributes TEXT NOT NULL DEFAULT '{}',
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX contacts_by_activity ON contacts(last_message_at DESC, id DESC);
                CREATE INDEX contacts_by_phone ON contacts(phone);

                CREATE TABLE contact_channels (
                    channel TEXT NOT NULL,
                    address TEXT NOT NULL,
                    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                    last_used_at INTEGER,
                    PRIMARY KEY (channel, address)
                ) WITHOUT ROWID;
                CREATE INDEX contact_channels_by_contact ON contact_channels(contact_id);

                CREATE TABLE subscriptions (
                    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                    channel TEXT NOT NULL,
                    subscribed INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (contact_id, channel)
                ) WITHOUT ROWID;

                CREATE TABLE messages (
                    id TEXT PRIMARY KEY NOT NULL,
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
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX messages_by_contact ON messages(contact_id, id);
                CREATE INDEX messages_by_status ON messages(status) WHERE status = 'failed';
                CREATE UNIQUE INDEX outbound_by_provider_id ON messages(channel, provider_message_id)
                    WHERE direction = 'outbound' AND provider_message_id IS NOT NULL;

                CREATE TABLE processed_provider_ids (
                    channel TEXT NOT NULL,
                    provider_message_id TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    PRIMARY KEY (channel, provider_message_id)
                ) WITHOUT ROWID;

                CREATE TABLE outbox (
                    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                    channel TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    -- When the row is next due. Claiming a row pushes this to the end of its lease,
                    -- so a worker that dies mid-send leaves the row due again once the lease is over.
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT
                ) WITHOUT ROWID;
                CREATE INDEX outbox_due ON outbox(next_attempt_at);
                """)
        }
        migrator.registerMigration("v2-messenger-window-and-rcs-capabilities") { db in
            try db.execute(sql: """
                -- Messenger: the page a contact wrote to and until when the 24-hour window is open.
                ALTER TABLE contact_channels ADD COLUMN page_id TEXT;
                ALTER TABLE contact_channels ADD COLUMN window_open_until INTEGER;

                -- The RCS capability table's cache: one row per phone (E.164).
                CREATE TABLE rcs_capabilities (
                    phone TEXT PRIMARY KEY NOT NULL,
                    capable INTEGER NOT NULL,
                    features TEXT NOT NULL DEFAULT '[]',
                    checked_at INTEGER NOT NULL,
                    source TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-gateway-secrets") { db in
            // Secrets the gateway makes for itself (the web-chat token key), kept across restarts.
            try db.execute(sql: """
                CREATE TABLE gateway_secrets (
                    name TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-outbox-by-channel") { db in
            // Paced channels are claimed one channel at a time.
            try db.execute(sql: "CREATE INDEX outbox_due_by_channel ON outbox(channel, next_attempt_at)")
        }
        migrator.registerMigration("v5-tags-and-bot-state") { db in
            try db.execute(sql: """
                CREATE TABLE tags (
                    name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE contact_tags (
                    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                    tag TEXT NOT NULL REFERENCES tags(name) ON DELETE CASCADE ON UPDATE CASCADE COLLATE NOCASE,
                    PRIMARY KEY (contact_id, tag)
                ) WITHOUT ROWID;
                CREATE INDEX contact_tags_by_tag ON contact_tags(tag);
                -- A bot's state per contact (a flow's position), kept between turns and restarts.
                CREATE TABLE bot_state (
                    contact_id TEXT PRIMARY KEY NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                    state TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v6-remote-bot-deliveries") { db in
            // Inbound messages waiting to be posted to an external (HTTP) bot; like the outbox, a row
            // is leased by pushing next_attempt_at forward while a call is in flight.
            try db.execute(sql: """
                CREATE TABLE bot_deliveries (
                    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                    contact_id TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT
                ) WITHOUT ROWID;
                CREATE INDEX bot_deliveries_due ON bot_deliveries(next_attempt_at);
                """)
        }
        migrator.registerMigration("v7-early-statuses") { db in
            // Status callbacks that arrive before the send's answer has been recorded (a fast
            // provider, a slow commit): kept until the provider message id is known, then applied.
            try db.execute(sql: """
                CREATE TABLE early_statuses (
                    channel TEXT NOT NULL,
                    provider_message_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    error_code TEXT,
                    error_message TEXT,
                    received_at INTEGER NOT NULL,
                    PRIMARY KEY (channel, provider_message_id, status)
                ) WITHOUT ROWID;
                CREATE INDEX early_statuses_age ON early_statuses(received_at);
                """)
        }
        migrator.registerMigration("v8-contacts-by-recent-activity") { db in
            // The contacts list orders by COALESCE(last_message_at, -1) (contacts without a message
            // last) and pages by (activity, id): an index on exactly that, so a page is a range scan
            // instead of a sort of every contact.
            try db.execute(sql: """
                DROP INDEX contacts_by_activity;
                CREATE INDEX contacts_by_recent_activity ON contacts(COALESCE(last_message_at, -1), id);
                """)
        }
        migrator.registerMigration("v9-outbox-outcome-unknown") { db in
            // A send whose outcome the gateway could not know (a timeout after the request left, a
            // connection lost mid-answer) may have reached the provider: the next attempt, even after
            // a restart, must know it to look for that message instead of sending a second copy.
            // attempt_started_at is set while an attempt is in flight and cleared when its outcome is
            // recorded, so an attempt that never recorded one (a crash) counts as unknown too.
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN outcome_unknown_since INTEGER;
                ALTER TABLE outbox ADD COLUMN attempt_started_at INTEGER;
                """)
        }
        migrator.registerMigration("v10-claim-ids") { db in
            // Each claim of an outbox row or a bot delivery writes a fresh claim id; recording an
            // outcome names it, so a worker whose lease expired and was taken over changes nothing.
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN claim_id TEXT;
                ALTER TABLE bot_deliveries ADD COLUMN claim_id TEXT;
                """)
        }
        migrator.registerMigration("v11-contact-search") { db in
            // Contact search by part of the name, the phone or an attribute value, served by an FTS5
            // index with the trigram tokenizer (substring matches, without case) instead of a scan
            // of every contact. Kept by triggers; the activity updates of every message touch none
            // of these columns, so ingest pays only when a contact is created or edited.
            try db.execute(sql: """
                CREATE VIRTUAL TABLE contact_search USING fts5(name, phone, attribute_values, tokenize = 'trigram');
                INSERT INTO contact_search (rowid, name, phone, attribute_values)
                    SELECT rowid, name, phone, (SELECT group_concat(value, ' ') FROM json_each(contacts.attributes)) FROM contacts;
                CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts BEGIN
                    INSERT INTO contact_search (rowid, name, phone, attribute_values)
                    VALUES (NEW.rowid, NEW.name, NEW.phone, (SELECT group_concat(value, ' ') FROM json_each(NEW.attributes)));
                END;
                CREATE TRIGGER contact_search_update AFTER UPDATE OF name, phone, attributes ON contacts BEGIN
                    DELETE FROM contact_search WHERE rowid = OLD.rowid;
                    INSERT INTO contact_search (rowid, name, phone, attribute_values)
                    VALUES (NEW.rowid, NEW.name, NEW.phone, (SELECT group_concat(value, ' ') FROM json_each(NEW.attributes)));
                END;
                CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts BEGIN
                    DELETE FROM contact_search WHERE rowid = OLD.rowid;
                END;
                """)
        }
        migrator.registerMigration("v12-contact-search-in-batches") { db in
            // v11's triggers wrote the FTS index in every ingest transaction that created a contact
            // (a new FTS segment per commit): ingest fell by a quarter. Creating or editing a contact
            // now only notes its rowid; `SQLiteStore.indexPendingContacts` indexes the noted rows in
            // one transaction a second, and search reads the few noted rows directly meanwhile.
            try db.execute(sql: """
                CREATE TABLE contact_search_pending (contact_rowid INTEGER PRIMARY KEY);
                DROP TRIGGER contact_search_insert;
                DROP TRIGGER contact_search_update;
                DROP TRIGGER contact_search_delete;
                CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts BEGIN
                    INSERT OR IGNORE INTO contact_search_pending (contact_rowid) VALUES (NEW.rowid);
                END;
                CREATE TRIGGER contact_search_update AFTER UPDATE OF name, phone, attributes ON contacts BEGIN
                    INSERT OR IGNORE INTO contact_search_pending (contact_rowid) VALUES (NEW.rowid);
                END;
                CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts BEGIN
                    DELETE FROM contact_search WHERE rowid = OLD.rowid;
                    DELETE FROM contact_search_pending WHERE contact_rowid = OLD.rowid;
                END;
                """)
        }
        migrator.registerMigration("v13-contact-search-by-id") { db in
            // v11 keyed the index by the contacts' implicit rowids, which VACUUM may renumber (the
            // table's key is its TEXT id): afterwards a search would have answered other contacts.
            // The index's rowid is now a key of its own, contact_search_ids.key (an INTEGER PRIMARY
            // KEY, which VACUUM keeps), and what waits for indexing is noted by contact id.
            try db.execute(sql: """
                DROP TRIGGER contact_search_insert;
                DROP TRIGGER contact_search_update;
                DROP TRIGGER contact_search_delete;
                DROP TABLE contact_search_pending;
                DELETE FROM contact_search;
                CREATE TABLE contact_search_ids (key INTEGER PRIMARY KEY, contact_id TEXT NOT NULL UNIQUE);
                CREATE TABLE contact_search_pending (contact_id TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT INTO contact_search_ids (contact_id) SELECT id FROM contacts ORDER BY rowid;
                INSERT INTO contact_search (rowid, name, phone, attribute_values)
                    SELECT k.key, c.name, c.phone, (SELECT group_concat(value, ' ') FROM json_each(c.attributes))
                    FROM contact_search_ids k JOIN contacts c ON c.id = k.contact_id;
                CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts BEGIN
                    INSERT OR IGNORE INTO contact_search_pending (contact_id) VALUES (NEW.id);
                END;
                CREATE TRIGGER contact_search_update AFTER UPDATE OF name, phone, attributes ON contacts BEGIN
                    INSERT OR IGNORE INTO contact_search_pending (contact_id) VALUES (NEW.id);
                END;
                CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts BEGIN
                    DELETE FROM contact_search WHERE rowid = (SELECT key FROM contact_search_ids WHERE contact_id = OLD.id);
                    DELETE FROM contact_search_ids WHERE contact_id = OLD.id;
                    DELETE FROM contact_search_pending WHERE contact_id = OLD.id;
                END;
                """)
        }
        migrator.registerMigration("v14-idempotency-keys") { db in
            // Proactive sends (POST /api/v1/messages) remember their Idempotency-Key for 24 hours:
            // the same key again returns the first message and sends nothing.
            try db.execute(sql: """
                CREATE TABLE idempotency_keys (
                    key TEXT PRIMARY KEY NOT NULL,
                    request_hash TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
                """)
        }
        migrator.registerMigration("v15-event-webhooks") { db in
            // Event webhooks: the subscribers the configuration names, and one delivery row per
            // event and subscriber. The rows are written by triggers that exist only while there is
            // a subscriber (`SQLiteStore.syncWebhookSubscribers`): without one, no write pays for
            // them. `events` is a space-separated list with a space at each end (' message.created ').
            try db.execute(sql: """
                CREATE TABLE webhook_subscribers (
                    name TEXT PRIMARY KEY NOT NULL,
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    enabled INTEGER NOT NULL DEFAULT 1,
                    disabled_at INTEGER,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE webhook_deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    subscriber TEXT NOT NULL REFERENCES webhook_subscribers(name) ON DELETE CASCADE,
                    event_type TEXT NOT NULL,
                    subject_id TEXT NOT NULL,
                    ordering_key TEXT NOT NULL,
                    status TEXT,
                    occurred_at INTEGER NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    first_attempt_at INTEGER,
                    next_attempt_at INTEGER NOT NULL,
                    claim_id TEXT,
                    last_error TEXT,
                    last_status_code INTEGER,
                    finished_at INTEGER
                );
                -- The claim walks due pending rows, and asks whether an older one of the same
                -- subscriber and contact is still pending (then this one waits its turn).
                CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
                CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries(subscriber, ordering_key, id) WHERE state = 'pending';
                -- The failures listing; the other states are listed by walking the ids (a fourth
                -- index on every row would cost each event's insert).
                CREATE INDEX webhook_deliveries_failed ON webhook_deliveries(id) WHERE state = 'failed';
                -- A contact changed several times before its event went out is one event: the
                -- data is the contact as it is when sent.
                CREATE UNIQUE INDEX webhook_deliveries_one_contact_change ON webhook_deliveries(subscriber, subject_id)
                    WHERE event_type = 'contact.updated' AND state = 'pending' AND attempts = 0;
                """)
        }
        migrator.registerMigration("v16-broadcasts") { db in
            // Broadcasts: the recipients fixed at creation (one row per contact, whatever tags and
            // ids named it), fanned out a batch at a time; the counts by status are moved by a
            // trigger as the broadcast's messages move (messages.broadcast_id), which costs any
            // other message's status change one test of a NULL column.
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN broadcast_id TEXT;
                CREATE TABLE broadcasts (
                    id TEXT PRIMARY KEY NOT NULL,
                    status TEXT NOT NULL,
                    target TEXT NOT NULL,
                    channel TEXT,
                    content TEXT NOT NULL,
                    author_kind TEXT NOT NULL,
                    author_name TEXT,
                    recipients INTEGER NOT NULL,
                    pending INTEGER NOT NULL,
                    queued INTEGER NOT NULL DEFAULT 0,
                    sent INTEGER NOT NULL DEFAULT 0,
                    delivered INTEGER NOT NULL DEFAULT 0,
                    read INTEGER NOT NULL DEFAULT 0,
                    failed INTEGER NOT NULL DEFAULT 0,
                    cancelled INTEGER NOT NULL DEFAULT 0,
                    skipped_unsubscribed INTEGER NOT NULL DEFAULT 0,
                    skipped_outside_messaging_window INTEGER NOT NULL DEFAULT 0,
                    skipped_no_channel INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    completed_at INTEGER
                ) WITHOUT ROWID;
                CREATE INDEX broadcasts_running ON broadcasts(id) WHERE status = 'running';
                CREATE TABLE broadcast_recipients (
                    broadcast_id TEXT NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
                    contact_id TEXT NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending',
                    skip_reason TEXT,
                    message_id TEXT,
                    PRIMARY KEY (broadcast_id, contact_id)
                ) WITHOUT ROWID;
                CREATE INDEX broadcast_recipients_pending ON broadcast_recipients(broadcast_id, contact_id) WHERE state = 'pending';
                CREATE TRIGGER broadcast_message_status AFTER UPDATE OF status ON messages
                WHEN NEW.broadcast_id IS NOT NULL AND OLD.status IS NOT NEW.status
                    AND NOT (OLD.status IN ('queued', 'sending') AND NEW.status IN ('queued', 'sending')) BEGIN
                    UPDATE broadcasts SET
                        queued = queued - (OLD.status IN ('queued', 'sending')) + (NEW.status IN ('queued', 'sending')),
                        sent = sent - (OLD.status = 'sent') + (NEW.status = 'sent'),
                        delivered = delivered - (OLD.status = 'delivered') + (NEW.status = 'delivered'),
                        read = read - (OLD.status = 'read') + (NEW.status = 'read'),
                        failed = failed - (OLD.status = 'failed') + (NEW.status = 'failed'),
                        updated_at = NEW.updated_at
                    WHERE id = NEW.broadcast_id;
                    UPDATE broadcasts SET status = 'completed', completed_at = NEW.updated_at
                    WHERE id = NEW.broadcast_id AND status = 'running' AND pending = 0 AND queued = 0;
                END;
                """)
        }
        migrator.registerMigration("v17-message-reactions") { db in
            // A contact's reaction to a message (Messenger): kept on the message, one a message.
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN reaction_emoji TEXT;
                ALTER TABLE messages ADD COLUMN reaction_name TEXT;
                ALTER TABLE messages ADD COLUMN reaction_at INTEGER;
                """)
            // Its `message.reaction` trigger is one of `WebhookTriggers`, which exist only while a
            // subscriber is configured (a database migrated by an earlier build loses the trigger
            // made here at the gateway's next start, and has it back when a subscriber asks).
        }
        migrator.registerMigration("v18-media-fetches") { db in
            // Inbound media to fetch into the media directory: written by a trigger in the
            // transaction that stores the message, for each attachment marked `fetch: pending`.
            try db.execute(sql: """
                CREATE TABLE media_fetches (
                    message_id TEXT NOT NULL,
                    attachment_index INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    claim_id TEXT,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (message_id, attachment_index)
                ) WITHOUT ROWID;
                CREATE INDEX media_fetches_due ON media_fetches(next_attempt_at);
                CREATE TRIGGER media_fetch_inbound AFTER INSERT ON messages
                WHEN NEW.direction = 'inbound' AND instr(NEW.content, '"fetch":"pending"') > 0 BEGIN
                    INSERT OR IGNORE INTO media_fetches (message_id, attachment_index, url, channel, next_attempt_at, created_at)
                    SELECT NEW.id, CAST(a.key AS INTEGER), json_extract(a.value, '$.url'), NEW.channel, NEW.created_at, NEW.created_at
                    FROM json_each(NEW.content, '$.attachments') a
                    WHERE json_extract(a.value, '$.fetch') = 'pending' AND json_extract(a.value, '$.url') IS NOT NULL;
                END;
                """)
        }
        return migrator
    }
}
