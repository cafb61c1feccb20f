package dev.pgkit.conversation;

import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.Sql;

/**
 * Every statement the conversation adapter sends, named after its operation and declared safe to
 * repeat or not (see {@link Sql}). Each is one round trip and atomic: a contact is created or touched by
 * an upsert on its unique phone in the same statement that appends the history entry, and a merge of
 * contact values is {@code jsonb ||} in the upsert itself, never a read followed by a write.
 *
 * <p>The seed's columns are {@code timestamp} without time zone; pgkit writes them as UTC
 * ({@code now() AT TIME ZONE 'UTC'}) and reads them back as instants ({@code AT TIME ZONE 'UTC'}), so
 * the session's TimeZone (pgjdbc sets the JVM's) never shifts them.
 */
final class ConversationSql {
    /** The server's clock as the seed's {@code timestamp} columns hold it. */
    static final String NOW_UTC = "(now() AT TIME ZONE 'UTC')";

    /** A history row as {@link Rows#history} reads it. */
    private static final String HISTORY_COLUMNS = "h.id, h.ref, h.keyword, h.answer, h.refserialize, h.phone, h.options::text,"
            + " h.created_at AT TIME ZONE 'UTC', h.updated_in AT TIME ZONE 'UTC', h.contact_id";
    /** A contact row as {@link Rows#contact} reads it. */
    private static final String CONTACT_COLUMNS = "c.id, c.phone, c.created_at AT TIME ZONE 'UTC', c.updated_in AT TIME ZONE 'UTC',"
            + " c.last_interaction AT TIME ZONE 'UTC', c.\"values\"::text";

    final Sql save;
    final Sql getPrevByNumber;
    final Sql saveContactMerge;
    final Sql saveContactReplace;
    final Sql getContact;
    final Sql historyPage;
    final Sql recent;
    final Sql findByValue;
    final Sql findContaining;
    final Sql findWithKey;
    final Sql forget;
    final Sql clearHistory;
    final Sql merges;

    ConversationSql(Identifier schema) {
        String contact = schema.qualify(ConversationSchema.CONTACT);
        String history = schema.qualify(ConversationSchema.HISTORY);
        String merge = schema.qualify(ConversationSchema.CONTACT_MERGE);

        // params: phone; ref, keyword, answer, refSerialize, phone, options. The contact is created or touched by
        // an upsert on the unique phone, and the entry appended, in one statement: concurrent first messages of
        // one phone make one contact. An append: not safe to repeat after a lost connection.
        save = Sql.write("conversation.save", """
                WITH touched AS (
                  INSERT INTO %1$s AS c (phone, created_at, last_interaction)
                  VALUES (?, %3$s, %3$s)
                  ON CONFLICT (phone) DO UPDATE SET last_interaction = EXCLUDED.last_interaction
                  RETURNING c.id)
                INSERT INTO %2$s AS h (ref, keyword, answer, refserialize, phone, options, contact_id, created_at)
                SELECT ?, ?, ?, ?, ?, ?, touched.id, %3$s FROM touched
                RETURNING %4$s""".formatted(contact, history, NOW_UTC, HISTORY_COLUMNS));
        // params: phone
        getPrevByNumber = Sql.read("conversation.getPrevByNumber",
                "SELECT " + HISTORY_COLUMNS + " FROM " + history + " h WHERE h.phone = ? ORDER BY h.created_at DESC, h.id DESC LIMIT 1");

        // params: phone, values. 'a': the new values merged into the stored ones by jsonb || (stored values that
        // are not an object count as none); 'u': replaced. Repeating either changes nothing more.
        String upsertContact = """
                INSERT INTO %1$s AS c (phone, "values", created_at)
                VALUES (?, ?, %2$s)
                ON CONFLICT (phone) DO UPDATE SET "values" = %3$s, updated_in = %2$s
                RETURNING %4$s""";
        saveContactMerge = Sql.idempotentWrite("conversation.saveContact", upsertContact.formatted(contact, NOW_UTC,
                "CASE WHEN jsonb_typeof(c.\"values\") = 'object' THEN c.\"values\" ELSE '{}'::jsonb END || EXCLUDED.\"values\"",
                CONTACT_COLUMNS));
        saveContactReplace = Sql.idempotentWrite("conversation.saveContact", upsertContact.formatted(contact, NOW_UTC,
                "EXCLUDED.\"values\"", CONTACT_COLUMNS));
        // params: phone
        getContact = Sql.read("conversation.getContact", "SELECT " + CONTACT_COLUMNS + " FROM " + contact + " c WHERE c.phone = ?");

        // params: phone, from (or null), until (or null), before created_at (or null), before id (or null), limit.
        // Newest first; every bound is a range condition on history_phone_created_idx (no OR, so a generic plan
        // keeps using the index): the page is an index range scan that stops after limit rows.
        historyPage = Sql.read("conversation.history", """
                SELECT %2$s FROM %1$s h
                WHERE h.phone = ?
                  AND h.created_at >= coalesce(?::timestamptz AT TIME ZONE 'UTC', '-infinity'::timestamp)
                  AND h.created_at < coalesce(?::timestamptz AT TIME ZONE 'UTC', 'infinity'::timestamp)
                  AND (h.created_at, h.id) < (coalesce(?::timestamptz AT TIME ZONE 'UTC', 'infinity'::timestamp), coalesce(?::integer, 2147483647))
                ORDER BY h.created_at DESC, h.id DESC
                LIMIT ?""".formatted(history, HISTORY_COLUMNS));
        // params: phone, limit. The newest entries, returned oldest first: a chat-memory window.
        recent = Sql.read("conversation.recent", """
                SELECT * FROM (
                  SELECT %2$s FROM %1$s h WHERE h.phone = ? ORDER BY h.created_at DESC, h.id DESC LIMIT ?) newest
                ORDER BY 8, 1""".formatted(history, HISTORY_COLUMNS));

        // The seed's JSONB queries, written so that the GIN index idx_contact_values serves them: containment
        // (@>) for values->>'key' = 'text' and nested values, the key-exists operator (?) for values ? 'key'.
        // params: key, text value, after id, limit
        findByValue = Sql.read("conversation.findContacts", "SELECT " + CONTACT_COLUMNS + " FROM " + contact + " c"
                + " WHERE c.\"values\" @> jsonb_build_object(?::text, ?::text) AND c.id > ? ORDER BY c.id LIMIT ?");
        // params: JSON object, after id, limit
        findContaining = Sql.read("conversation.findContactsContaining", "SELECT " + CONTACT_COLUMNS + " FROM " + contact + " c"
                + " WHERE c.\"values\" @> ?::jsonb AND c.id > ? ORDER BY c.id LIMIT ?");
        // params: key, after id, limit. jsonb_exists(values, key) is the ? operator, spelt so that JDBC does not
        // take it for a parameter; the operator form is what the index matches, hence "??" (pgjdbc's escape).
        findWithKey = Sql.read("conversation.findContactsWithKey", "SELECT " + CONTACT_COLUMNS + " FROM " + contact + " c"
                + " WHERE c.\"values\" ?? ? AND c.id > ? ORDER BY c.id LIMIT ?");

        // params: phone (lock); phone, phone. One transaction: the contact row is locked first, so no save can
        // attach a new entry to it meanwhile (a save waits, then finds no contact and starts a new one); then every
        // history entry of the phone or of its contact and the contact go. Reports what it removed. Not repeated
        // after a lost connection, so that the report is what this call did.
        // The lock is an upsert, not SELECT ... FOR UPDATE: a SELECT does not see a first message's contact that
        // commits after its snapshot, and that message's later saves would then add history the delete below misses
        // (a foreign-key error). The upsert waits for such an insert and locks the row; where the phone has no
        // contact it inserts a placeholder (created_at -infinity, never a real contact's) that saves wait for, and
        // that the delete removes uncounted.
        forget = Sql.write("conversation.forget", """
                BEGIN ISOLATION LEVEL READ COMMITTED;
                INSERT INTO %1$s AS c (phone, created_at) VALUES (?, '-infinity')
                  ON CONFLICT (phone) DO UPDATE SET last_interaction = c.last_interaction;
                WITH p AS (SELECT ?::varchar AS phone),
                gone_history AS (
                  DELETE FROM %2$s h USING p
                  WHERE h.phone = p.phone OR h.contact_id IN (SELECT c.id FROM %1$s c WHERE c.phone = p.phone)
                  RETURNING h.id),
                gone_contact AS (
                  DELETE FROM %1$s c USING p WHERE c.phone = p.phone RETURNING c.id, c.created_at)
                SELECT (SELECT count(*) FROM gone_contact WHERE created_at IS DISTINCT FROM '-infinity'),
                       (SELECT count(*) FROM gone_history);
                COMMIT""".formatted(contact, history));
        // params: phone. The history of a phone goes, its contact stays (a chat memory cleared).
        clearHistory = Sql.write("conversation.clearHistory", "DELETE FROM " + history + " WHERE phone = ?");

        merges = Sql.read("conversation.merges", "SELECT merged_at, phone, survivor_id, merged_ids, history_moved FROM " + merge
                + " ORDER BY merged_at, survivor_id");
    }
}
