import SwitchboardCore

/// The SQL that turns changes into event-webhook deliveries, written in the transaction of the
/// change: one row per enabled subscriber that asked for the event type.
///
/// Messages: `message.created` on insert, `message.status` when the status moves to `sent`,
/// `delivered`, `read` or `failed` (not the outbox's own `sending`), `message.reaction` when the
/// contact's reaction changes. Contacts:
/// `contact.updated` when one is created, when a panel field changes (name, photo, phone, bot,
/// attributes; not the activity columns every message moves), and when its tags, subscriptions or
/// channels change; pending, not yet attempted changes of one contact are one delivery (the data
/// is the contact when sent). Broadcasts: `broadcast.completed` when one finishes.
enum WebhookTriggers {
    /// A subscriber's event types as stored on SQLite: space-separated with a space at each end.
    static func eventList(_ events: Set<WebhookEventType>) -> String {
        " " + events.map(\.rawValue).sorted().joined(separator: " ") + " "
    }

    static let sqliteNames = [
        "webhook_message_created", "webhook_message_status", "webhook_contact_created", "webhook_contact_changed",
        "webhook_contact_tagged", "webhook_contact_untagged", "webhook_subscription_added", "webhook_subscription_changed",
        "webhook_channel_added", "webhook_channel_moved", "webhook_broadcast_completed", "webhook_message_reaction",
    ]

    static var sqliteDrop: [String] { sqliteNames.map { "DROP TRIGGER IF EXISTS \($0)" } }

    private static let sqliteNow = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

    static func sqliteInsert(_ type: WebhookEventType, subject: String, orderingKey: String, status: String, occurredAt: String)
        -> String
    {
        let orIgnore = type == .contactUpdated ? " OR IGNORE" : ""
        // Due now, unless the contact has an earlier delivery waiting: then when that one is
        // (its retry, or the end of its lease), so claims do not walk a backlog that cannot go yet.
        return """
            INSERT\(orIgnore) INTO webhook_deliveries (subscriber, event_type, subject_id, ordering_key, status, occurred_at, next_attempt_at)
            SELECT s.name, '\(type.rawValue)', \(subject), \(orderingKey), \(status), \(occurredAt),
                COALESCE((SELECT e.next_attempt_at FROM webhook_deliveries e
                          WHERE e.state = 'pending' AND e.subscriber = s.name AND e.ordering_key = \(orderingKey) ORDER BY e.id LIMIT 1), 0)
            FROM webhook_subscribers s WHERE s.enabled = 1 AND instr(s.events, ' \(type.rawValue) ') > 0;
            """
    }

    private static func sqliteContactChanged(_ contactId: String, at occurredAt: String) -> String {
        sqliteInsert(.contactUpdated, subject: contactId, orderingKey: contactId, status: "NULL", occurredAt: occurredAt)
    }

    static var sqliteCreate: [String] {
        [
            """
            CREATE TRIGGER webhook_message_created AFTER INSERT ON messages BEGIN
            \(sqliteInsert(.messageCreated, subject: "NEW.id", orderingKey: "NEW.contact_id", status: "NEW.status", occurredAt: "NEW.created_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_message_status AFTER UPDATE OF status ON messages
            WHEN OLD.status IS NOT NEW.status AND NEW.status NOT IN ('queued', 'sending') BEGIN
            \(sqliteInsert(.messageStatus, subject: "NEW.id", orderingKey: "NEW.contact_id", status: "NEW.status", occurredAt: "NEW.updated_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_message_reaction AFTER UPDATE OF reaction_emoji, reaction_name, reaction_at ON messages
            WHEN OLD.reaction_emoji IS NOT NEW.reaction_emoji OR OLD.reaction_name IS NOT NEW.reaction_name
                OR OLD.reaction_at IS NOT NEW.reaction_at BEGIN
            \(sqliteInsert(.messageReaction, subject: "NEW.id", orderingKey: "NEW.contact_id", status: "NULL", occurredAt: "NEW.updated_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_contact_created AFTER INSERT ON contacts BEGIN
            \(sqliteContactChanged("NEW.id", at: "NEW.created_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_contact_changed AFTER UPDATE OF name, photo_url, phone, bot_enabled, attributes ON contacts
            WHEN OLD.name IS NOT NEW.name OR OLD.photo_url IS NOT NEW.photo_url OR OLD.phone IS NOT NEW.phone
                OR OLD.bot_enabled IS NOT NEW.bot_enabled OR OLD.attributes IS NOT NEW.attributes BEGIN
            \(sqliteContactChanged("NEW.id", at: "NEW.updated_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_contact_tagged AFTER INSERT ON contact_tags BEGIN
            \(sqliteContactChanged("NEW.contact_id", at: sqliteNow))
            END
            """,
            """
            CREATE TRIGGER webhook_contact_untagged AFTER DELETE ON contact_tags BEGIN
            \(sqliteContactChanged("OLD.contact_id", at: sqliteNow))
            END
            """,
            """
            CREATE TRIGGER webhook_subscription_added AFTER INSERT ON subscriptions BEGIN
            \(sqliteContactChanged("NEW.contact_id", at: "NEW.updated_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_subscription_changed AFTER UPDATE OF subscribed ON subscriptions
            WHEN OLD.subscribed IS NOT NEW.subscribed BEGIN
            \(sqliteContactChanged("NEW.contact_id", at: "NEW.updated_at"))
            END
            """,
            """
            CREATE TRIGGER webhook_channel_added AFTER INSERT ON contact_channels BEGIN
            \(sqliteContactChanged("NEW.contact_id", at: sqliteNow))
            END
            """,
            """
            CREATE TRIGGER webhook_channel_moved AFTER UPDATE OF contact_id ON contact_channels
            WHEN OLD.contact_id IS NOT NEW.contact_id BEGIN
            \(sqliteContactChanged("NEW.contact_id", at: sqliteNow))
            END
            """,
            """
            CREATE TRIGGER webhook_broadcast_completed AFTER UPDATE OF status ON broadcasts
            WHEN OLD.status = 'running' AND NEW.status <> 'running' BEGIN
            \(sqliteInsert(.broadcastCompleted, subject: "NEW.id", orderingKey: "NEW.id", status: "NEW.status",
                           occurredAt: "COALESCE(NEW.completed_at, NEW.updated_at)"))
            END
            """,
        ]
    }
}
